import type { V1RoleBinding } from '@kubernetes/client-node';
import type { TenantRole } from '../../domain/auth/principal.js';
import { ConflictError } from '../../domain/shared/errors.js';
import type { Member } from '../../domain/tenants/tenant.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { listAllPages, listOptions } from './kube-reads.js';
import { MAX_CONFLICT_ATTEMPTS, readOrUndefined, tenantKinds, withVersion } from './kube-writes.js';
import type { TenantCaches } from './tenant-caches.js';
import { isMemberBinding, isTenant, memberFromBinding } from './tenant-mapping.js';
import { memberBindingName, roleBindingObject } from './tenant-objects.js';

/** RoleBinding writes for tenant members. */
export interface MemberWriter {
  /** Creates or replaces the binding; a role change deletes and recreates it (roleRef is immutable). */
  put(id: string, member: Member, known?: V1RoleBinding): Promise<{ binding: V1RoleBinding; created: boolean }>;
  /** False when there was no binding. */
  remove(id: string, principalId: string): Promise<boolean>;
  /** Makes the tenant's member bindings exactly `members` (used when a create converges). */
  reconcile(id: string, members: readonly Member[]): Promise<void>;
  /** Tenant roles held by any of `subjectIds`, the strongest per tenant, sorted by tenant. */
  membershipsOf(subjectIds: readonly string[]): Promise<Array<readonly [string, TenantRole]>>;
  /** The version of both caches membershipsOf reads, while both are synced (TenantRepository.membershipsVersion). */
  membershipsVersion(): number | undefined;
}

/** Subject sets whose memberships are remembered at once (per cache version); past it, all are dropped. */
const MEMO_SIZE = 10_000;

export function createMemberWriter(client: KubeClient, caches: TenantCaches): MemberWriter {
  const ops = tenantKinds(client).roleBinding;
  /** Memberships per subject set, valid for one version of the namespace and binding caches. */
  let memo: { version: number; results: Map<string, ReadonlyArray<readonly [string, TenantRole]>> } = { version: -1, results: new Map() };

  /** Deletes one binding; with `guard`, only the version we saw (409 when it changed meanwhile). */
  async function deleteBinding(namespace: string, name: string, guard?: V1RoleBinding): Promise<boolean> {
    const resourceVersion = guard?.metadata?.resourceVersion;
    const stub = guard ?? { metadata: { namespace, name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: '' } };
    try {
      await client.request({ what: `delete RoleBinding ${namespace}/${name}`, write: true, resource: 'member', name }, () =>
        client.rbac.deleteNamespacedRoleBinding({
          namespace,
          name,
          ...(resourceVersion === undefined ? {} : { body: { preconditions: { resourceVersion } } }),
        }),
      );
      caches.bindings.forget(stub);
      return true;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      caches.bindings.forget(stub);
      return false;
    }
  }

  async function put(id: string, member: Member, known?: V1RoleBinding) {
    const desired = roleBindingObject(id, member);
    const name = desired.metadata?.name ?? '';
    let current = known;
    let existed = known !== undefined;
    for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
      try {
        let binding: V1RoleBinding;
        if (current === undefined) {
          binding = await client.request({ what: `create RoleBinding ${id}/${name}`, write: true, resource: 'member', name }, () =>
            ops.create(id, desired),
          );
        } else if (current.roleRef.name !== desired.roleRef.name) {
          if (!(await deleteBinding(id, name, current))) existed = false;
          current = undefined;
          continue;
        } else {
          const body = withVersion(desired, current.metadata?.resourceVersion);
          binding = await client.request({ what: `replace RoleBinding ${id}/${name}`, write: true, resource: 'member', name }, () =>
            ops.replace(id, name, body),
          );
        }
        caches.bindings.remember(binding);
        return { binding, created: !existed };
      } catch (err) {
        if (isConflict(err, 'ALREADY_EXISTS') || isConflict(err, 'VERSION_CONFLICT')) {
          current = await readOrUndefined(client, ops, id, name);
          existed ||= current !== undefined;
          continue;
        }
        if (isNotFound(err) && current !== undefined) {
          current = undefined;
          continue;
        }
        throw err;
      }
    }
    throw new ConflictError('VERSION_CONFLICT', `The binding of '${member.principalId}' kept changing while it was being written; try again.`);
  }

  async function freshBindings(id: string): Promise<V1RoleBinding[]> {
    const labelSelector = 'app.kubernetes.io/managed-by=labplane,labplane.io/member=true';
    const listed = await listAllPages<V1RoleBinding>(client, `list RoleBindings in ${id}`, (cont) =>
      client.rbac.listNamespacedRoleBinding({ namespace: id, ...listOptions({ labelSelector, ...(cont === undefined ? {} : { cont }) }) }),
    );
    return listed.items;
  }

  function membershipsVersion(): number | undefined {
    if (!caches.namespaces.synced() || !caches.bindings.synced()) return undefined;
    return caches.namespaces.version() + caches.bindings.version() * 2 ** 26;
  }

  return {
    put,
    membershipsVersion,
    remove: (id, principalId) => deleteBinding(id, memberBindingName(principalId)),
    async reconcile(id, members) {
      const existing = new Map((await freshBindings(id)).filter(isMemberBinding).map((rb) => [rb.metadata?.name ?? '', rb]));
      const wanted = new Set(members.map((m) => memberBindingName(m.principalId)));
      for (const name of existing.keys()) if (!wanted.has(name)) await deleteBinding(id, name);
      for (const m of members) await put(id, m, existing.get(memberBindingName(m.principalId)));
    },
    async membershipsOf(subjectIds) {
      const ids = new Set(subjectIds);
      if (ids.size === 0) return [];
      // Memoised per set of subjects and per version of both caches: any namespace or binding
      // change (a member removed, a tenant deleted, our own write) bumps a version, so the next
      // lookup walks the caches again. Only while both copies are synced: before that, `list`
      // asks the server and a version says nothing.
      const version = membershipsVersion();
      const synced = version !== undefined;
      const key = [...ids].sort().join('\n');
      if (synced) {
        if (memo.version !== version) memo = { version, results: new Map() };
        const hit = memo.results.get(key);
        if (hit !== undefined) return [...hit];
      }
      const tenants = new Set((await caches.namespaces.list()).filter(isTenant).map((ns) => ns.metadata?.name ?? ''));
      const roles = new Map<string, TenantRole>();
      for (const rb of await caches.bindings.list()) {
        const tenant = rb.metadata?.namespace ?? '';
        if (!isMemberBinding(rb) || !tenants.has(tenant)) continue;
        const m = memberFromBinding(rb);
        if (ids.has(m.principalId) && roles.get(tenant) !== 'owner') roles.set(tenant, m.role);
      }
      const result = [...roles].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      // Stored only if nothing changed while the lists were read (they are synchronous once synced).
      if (synced && memo.version === version && membershipsVersion() === version) {
        if (memo.results.size >= MEMO_SIZE) memo.results.clear();
        memo.results.set(key, result);
      }
      return [...result];
    },
  };
}
