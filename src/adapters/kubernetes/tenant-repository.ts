import type { V1Namespace } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import type { ClusterHealth, CreateOutcome, TenantRepository } from '../../domain/tenants/tenant-repository.js';
import type { Tenant, TenantSpec } from '../../domain/tenants/tenant.js';
import { isConflict } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { listAllPages, orUndefined } from './kube-reads.js';
import { MAX_CONFLICT_ATTEMPTS, createOrReplace, modify, tenantKinds, withVersion } from './kube-writes.js';
import { KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMS } from './vm-objects.js';
import { createTenantCaches } from './tenant-caches.js';
import { cacheGroup, customResource, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import { validateCidrs } from './cidrs.js';
import {
  byPrincipal,
  isMemberBinding,
  isOurs,
  isTenant,
  isTerminating,
  memberFromBinding,
  tenantFromNamespace,
  usageFromQuota,
} from './tenant-mapping.js';
import { createMemberWriter } from './tenant-members.js';
import {
  egressPolicyObject,
  ingressPolicyObject,
  limitRangeObject,
  memberBindingName,
  ANN_COST_CONTROLS,
  namespaceObject,
  QUOTA_NAME,
  quotaHard,
  resourceQuotaObject,
  roleObject,
  type NamespaceSpec,
} from './tenant-objects.js';

export interface KubeTenantRepositoryDeps extends CacheOptions {
  /** Built once by the composition root and shared by every Kubernetes adapter: one request budget, one timeout. */
  readonly client: KubeClient;
  /** Ranges tenants must not reach besides the RFC 1918 / CGNAT / link-local defaults (node, pod, service CIDRs). */
  readonly clusterPrivateCidrs?: readonly string[];
}

/** The Kubernetes tenant repository; `start` before serving, `close` on shutdown. */
export interface KubeTenantRepository extends TenantRepository, ClusterHealth, WatchedLifecycle {}

/**
 * Tenants as Kubernetes namespaces (see `tenant-objects.ts` for every object written). Nothing is sent
 * before `start` or a method call.
 */
export function createKubeTenantRepository(deps: KubeTenantRepositoryDeps): KubeTenantRepository {
  const blocked = validateCidrs(deps.clusterPrivateCidrs ?? []);
  const { client } = deps;
  const caches = createTenantCaches(client, deps.watchRestartDelayMs);
  const group = cacheGroup(client.logger, [caches.namespaces, caches.quotas, caches.bindings]);
  const kinds = tenantKinds(client);
  const members = createMemberWriter(client, caches);
  /** Malformed cost-control annotations already logged (tenant and text), so each is logged once. */
  const malformedSeen = new Set<string>();
  /**
   * Tenants read from cached namespaces, one per namespace object: the cache replaces an object on
   * every change and never edits it, so a read of an unchanged tenant (every VM read asks for its
   * tenant's cost controls) skips the mapping.
   */
  const tenants = new WeakMap<V1Namespace, Tenant>();
  const tenantOf = (ns: V1Namespace): Tenant => {
    let tenant = tenants.get(ns);
    if (tenant === undefined) {
      tenant = mapTenant(ns);
      tenants.set(ns, tenant);
    }
    return tenant;
  };
  const mapTenant = (ns: V1Namespace) =>
    tenantFromNamespace(ns, undefined, (id, problem) => {
      const key = `${id}\n${ns.metadata?.annotations?.[ANN_COST_CONTROLS] ?? ''}`;
      if (malformedSeen.has(key)) return;
      malformedSeen.add(key);
      client.logger.warn(
        { tenant: id, problem: problem.slice(0, 500) },
        'tenant cost-control annotation is malformed; the tenant reads as having none',
      );
    });
  const nsCtx = (verb: string, id: string) => ({ what: `${verb} Namespace ${id}`, write: verb !== 'read', resource: 'tenant', name: id });

  async function tenantNamespace(id: string): Promise<V1Namespace> {
    const ns = await caches.namespaces.get('', id);
    if (!isTenant(ns)) throw new NotFoundError('tenant', id);
    return ns;
  }

  function refuseExisting(ns: V1Namespace, id: string): never {
    if (!isOurs(ns)) {
      throw new ConflictError('NAMESPACE_TAKEN', `A namespace '${id}' exists and does not belong to the platform; choose another id.`);
    }
    if (isTerminating(ns)) {
      throw new ConflictError('TENANT_TERMINATING', `Tenant '${id}' is being deleted; create it again once it is gone.`);
    }
    throw new ConflictError('TENANT_EXISTS', `Tenant '${id}' already exists.`);
  }

  /** Replaces the namespace from `base`, re-reading on a version conflict (bounded). */
  async function writeNamespace(spec: NamespaceSpec, base: V1Namespace): Promise<V1Namespace> {
    const ours = async () => {
      const fresh = await caches.namespaces.fresh('', spec.id);
      if (!isOurs(fresh)) throw new NotFoundError('tenant', spec.id);
      return fresh;
    };
    const replace = async (body: V1Namespace) => {
      const ns = await client.request(nsCtx('replace', spec.id), () => client.core.replaceNamespace({ name: spec.id, body }));
      caches.namespaces.remember(ns);
      return ns;
    };
    const written = await modify(`Tenant '${spec.id}'`, ours, base, (current) => namespaceObject(spec, true, current), replace);
    if (written === undefined) throw new NotFoundError('tenant', spec.id);
    return written;
  }

  async function writeChildren(spec: TenantSpec, converging: boolean): Promise<void> {
    const knownQuota = converging ? await caches.quotas.get(spec.id, QUOTA_NAME) : undefined;
    const writes = [
      createOrReplace(client, kinds.resourceQuota, resourceQuotaObject(spec.id, spec.quota), knownQuota).then(caches.quotas.remember),
      createOrReplace(client, kinds.limitRange, limitRangeObject(spec.id, spec.vmCaps, spec.quota)),
      createOrReplace(client, kinds.networkPolicy, ingressPolicyObject(spec.id)),
      createOrReplace(client, kinds.networkPolicy, egressPolicyObject(spec.id, blocked)),
      createOrReplace(client, kinds.role, roleObject(spec.id, 'member')),
      createOrReplace(client, kinds.role, roleObject(spec.id, 'owner')),
    ];
    const failed = (await Promise.allSettled(writes)).find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** POSTs the namespace; when it exists, tells whether this is a half-done create of ours to finish. */
  async function claimNamespace(spec: TenantSpec): Promise<{ ns: V1Namespace; outcome: CreateOutcome }> {
    for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
      try {
        const ns = await client.request(nsCtx('create', spec.id), () => client.core.createNamespace({ body: namespaceObject(spec, false) }));
        caches.namespaces.remember(ns);
        return { ns, outcome: 'created' };
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
      }
      const existing = await caches.namespaces.fresh('', spec.id);
      if (existing === undefined) continue;
      if (!isOurs(existing) || isTenant(existing) || isTerminating(existing)) refuseExisting(existing, spec.id);
      return { ns: existing, outcome: 'converged' };
    }
    throw new ConflictError('VERSION_CONFLICT', `Namespace '${spec.id}' kept appearing and disappearing; try again.`);
  }

  return {
    ...lifecycleOf(group, deps),

    async ping() {
      await client.request({ what: 'read version', write: false }, () => client.version.getCode());
    },

    async create(spec) {
      const cached = group.synced() ? await caches.namespaces.get('', spec.id) : undefined;
      if (isTenant(cached)) refuseExisting(cached, spec.id);
      const { ns, outcome } = await claimNamespace(spec);
      await writeChildren(spec, outcome === 'converged');
      if (outcome === 'converged') await members.reconcile(spec.id, spec.members);
      else for (const m of spec.members) await members.put(spec.id, m);
      const done = await writeNamespace(spec, ns);
      return { tenant: tenantOf(done), outcome };
    },

    async get(id) {
      const ns = await caches.namespaces.get('', id);
      return isTenant(ns) ? tenantOf(ns) : undefined;
    },

    async list() {
      const all = (await caches.namespaces.list()).filter(isTenant).map((ns) => tenantOf(ns));
      return all.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    async update(id, update, expectedVersion) {
      let ns = await tenantNamespace(id);
      if (expectedVersion !== undefined && expectedVersion !== ns.metadata?.resourceVersion) {
        // The caller saw a version our cache has not: build on the server's copy, not a stale one.
        const fresh = await caches.namespaces.fresh('', id);
        if (!isTenant(fresh)) throw new NotFoundError('tenant', id);
        ns = fresh;
      }
      let written: V1Namespace | undefined;
      let spec: NamespaceSpec | undefined;
      for (let attempt = 0; written === undefined && attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
        const t = tenantOf(ns);
        const description = update.description ?? t.description;
        const costControls = update.costControls === undefined ? t.costControls : (update.costControls ?? undefined);
        spec = {
          id,
          displayName: update.displayName ?? t.displayName,
          ...(description === undefined ? {} : { description }),
          profile: t.profile,
          quota: update.quota ?? t.quota,
          vmCaps: update.vmCaps ?? t.vmCaps,
          ...(costControls === undefined ? {} : { costControls }),
        };
        const body = namespaceObject(spec, true, withVersion(ns, expectedVersion ?? ns.metadata?.resourceVersion));
        try {
          written = await client.request(nsCtx('replace', id), () => client.core.replaceNamespace({ name: id, body }));
        } catch (err) {
          if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
          if (expectedVersion !== undefined) {
            throw new ConflictError('VERSION_CONFLICT', `Tenant '${id}' changed since version ${expectedVersion}; read it again.`, {
              cause: err,
              details: { expectedVersion },
            });
          }
          const fresh = await caches.namespaces.fresh('', id);
          if (!isTenant(fresh)) throw new NotFoundError('tenant', id);
          ns = fresh;
        }
      }
      if (written === undefined || spec === undefined) {
        throw new ConflictError('VERSION_CONFLICT', `Tenant '${id}' kept changing while it was being updated; try again.`);
      }
      caches.namespaces.remember(written);
      if (update.quota !== undefined) {
        const known = await caches.quotas.get(id, QUOTA_NAME);
        const same = JSON.stringify(known?.spec?.hard ?? {}) === JSON.stringify(quotaHard(spec.quota));
        if (!same) caches.quotas.remember(await createOrReplace(client, kinds.resourceQuota, resourceQuotaObject(id, spec.quota), known));
      }
      if (update.quota !== undefined || update.vmCaps !== undefined) {
        await createOrReplace(client, kinds.limitRange, limitRangeObject(id, spec.vmCaps, spec.quota));
      }
      return tenantOf(written);
    },

    async delete(id) {
      const ns = await tenantNamespace(id);
      if (isTerminating(ns)) return;
      const uid = ns.metadata?.uid;
      try {
        await client.request(nsCtx('delete', id), () =>
          client.core.deleteNamespace({ name: id, ...(uid === undefined ? {} : { body: { preconditions: { uid } } }) }),
        );
      } catch (err) {
        if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
        const fresh = await caches.namespaces.fresh('', id);
        if (!isTenant(fresh)) throw new NotFoundError('tenant', id);
        if (!isTerminating(fresh)) throw err;
      }
      // Read-your-writes: the namespace now terminates (its contents go first); the cache must
      // say so rather than forget it, or a caller waiting for it to be gone would stop too early.
      const after = await caches.namespaces.fresh('', id);
      if (after === undefined) caches.namespaces.forget(ns);
    },

    async usage(id) {
      await tenantNamespace(id);
      return usageFromQuota(await caches.quotas.get(id, QUOTA_NAME));
    },

    async countVirtualMachines(id) {
      await tenantNamespace(id);
      return countVirtualMachines(id);
    },

    async listMembers(id) {
      await tenantNamespace(id);
      return (await caches.bindings.list(id)).filter(isMemberBinding).map(memberFromBinding).sort(byPrincipal);
    },

    async putMember(id, member) {
      // A new member's RoleBinding cannot be created in a terminating namespace; an existing one is
      // refused too, so the answer does not depend on whether the member was there before.
      const ns = await tenantNamespace(id);
      if (isTerminating(ns)) throw new ConflictError('TENANT_TERMINATING', `Tenant '${id}' is being deleted; its members can no longer change.`);
      const name = memberBindingName(member.principalId);
      const known = (await caches.bindings.list(id)).find((rb) => rb.metadata?.name === name && isMemberBinding(rb));
      const { binding, created } = await members.put(id, member, known);
      return { member: memberFromBinding(binding), created };
    },

    async deleteMember(id, principalId) {
      await tenantNamespace(id);
      return members.remove(id, principalId);
    },

    membershipsOf: (subjectIds) => members.membershipsOf(subjectIds),
    membershipsVersion: () => members.membershipsVersion(),
  };

  async function countVirtualMachines(id: string): Promise<number> {
    const vms = customResource(client, KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMS);
    // No VirtualMachine resource at all (KubeVirt not installed): no VMs.
    const listed = await orUndefined(
      listAllPages(client, `list VirtualMachines in ${id}`, (cont) => vms.list({ namespace: id, ...(cont === undefined ? {} : { cont }) })),
    );
    return listed?.items.length ?? 0;
  }
}
