import { isDeepStrictEqual } from 'node:util';
import type { LabRecord, LabSpec } from '../../domain/labs/lab.js';
import type { LabRepository } from '../../domain/labs/lab-repository.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';
import { isConflict, isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { modify, withVersion } from './kube-writes.js';
import { cacheGroup, createResourceCache, customResource, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import { labApi, LABS, LABS_GROUP, LABS_PATH, LABS_VERSION, labObject, labRecordOf, labStatusOf, sameSpec, type LabObject } from './lab-objects.js';

/** What {@link createKubeLabRepository} needs: the shared client (cluster, logger, request budget). */
export interface KubeLabRepositoryDeps extends CacheOptions {
  /** Built once by the composition root and shared by every Kubernetes adapter: one request budget, one timeout. */
  readonly client: KubeClient;
}

/** The Kubernetes LabRepository, with the lifecycle of its watch. */
export interface KubeLabRepository extends LabRepository, WatchedLifecycle {}

const byTenantAndName = (a: LabRecord, b: LabRecord): number =>
  a.tenant === b.tenant ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.tenant < b.tenant ? -1 : 1;

/**
 * Labs as `labs.labplane.io/v1alpha1` objects in the tenant's namespace (tenant id = namespace name,
 * as for every tenant object; lab name = metadata.name); see `lab-objects.ts` for the mapping and
 * deploy/crds for the schema. Reads come from a watch over every namespace (`resource-cache.ts`); writes
 * go to the server and their answers into the cache. Nothing is sent before `start` or a call.
 */
export function createKubeLabRepository(deps: KubeLabRepositoryDeps): KubeLabRepository {
  const { client } = deps;
  const { custom } = client;
  /**
   * Every Lab object, in every namespace. No label selector: unlike VirtualMachines (a kind others
   * create too, so ours carry `app.kubernetes.io/managed-by=labplane`), every `labs.labplane.io` object
   * is a lab of the platform by its kind, including those GitOps or kubectl wrote without our label.
   * Objects the API creates still carry the label (and `labplane.io/tenant`).
   */
  const cache = createResourceCache<LabObject>({
    client,
    name: LABS,
    kind: 'Lab',
    resource: 'lab',
    path: LABS_PATH,
    api: customResource(client, LABS_GROUP, LABS_VERSION, LABS),
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  const group = cacheGroup(client.logger, [cache]);
  const ctx = (verb: string, tenant: string, name: string) => ({ what: `${verb} Lab ${tenant}/${name}`, write: true, resource: 'lab', name });

  async function replace(tenant: string, name: string, body: LabObject): Promise<LabObject> {
    const obj = (await client.request(ctx('replace', tenant, name), () =>
      custom.replaceNamespacedCustomObject({ ...labApi(tenant), name, body }),
    )) as LabObject;
    cache.remember(obj);
    return obj;
  }

  async function replaceStatus(tenant: string, name: string, body: LabObject): Promise<LabObject> {
    const obj = (await client.request(ctx('update status of', tenant, name), () =>
      custom.replaceNamespacedCustomObjectStatus({ ...labApi(tenant), name, body }),
    )) as LabObject;
    cache.remember(obj);
    return obj;
  }

  const versionMismatch = (name: string, expectedVersion: string, cause?: unknown) =>
    new PreconditionFailedError('VERSION_MISMATCH', `Lab '${name}' changed since version ${expectedVersion}; read it again.`, {
      details: { expectedVersion },
      ...(cause === undefined ? {} : { cause }),
    });

  /** Replace guarded by the caller's version: the server's 409 is theirs to resolve, not retried. */
  async function updateAt(tenant: string, name: string, spec: LabSpec, expectedVersion: string): Promise<LabRecord> {
    const cached = await cache.get(tenant, name);
    const current = cached?.metadata?.resourceVersion === expectedVersion ? cached : await cache.fresh(tenant, name);
    if (current === undefined) throw new NotFoundError('lab', name);
    if (current.metadata?.resourceVersion !== expectedVersion) throw versionMismatch(name, expectedVersion);
    if (sameSpec(current, spec)) return labRecordOf(current);
    try {
      return labRecordOf(await replace(tenant, name, withVersion(labObject(tenant, name, spec, current), expectedVersion)));
    } catch (err) {
      if (isConflict(err, 'VERSION_CONFLICT')) {
        // The cache held the version the server no longer has: read the winner now, so a caller
        // that reads again and retries builds on it rather than on the stale copy until the watch catches up.
        await cache.fresh(tenant, name).catch(() => undefined);
        throw versionMismatch(name, expectedVersion, err);
      }
      if (isNotFound(err)) throw new NotFoundError('lab', name, { cause: err });
      throw err;
    }
  }

  return {
    ...lifecycleOf(group, deps),

    async list(tenant) {
      return (await cache.list(tenant)).map(labRecordOf).sort(byTenantAndName);
    },

    async get(tenant, name) {
      const obj = await cache.get(tenant, name);
      return obj === undefined ? undefined : labRecordOf(obj);
    },

    async create(spec) {
      const body = labObject(spec.tenant, spec.name, spec);
      try {
        const obj = (await client.request({ ...ctx('create', spec.tenant, spec.name), resource: 'tenant', name: spec.tenant }, () =>
          custom.createNamespacedCustomObject({ ...labApi(spec.tenant), body }),
        )) as LabObject;
        cache.remember(obj);
        return labRecordOf(obj);
      } catch (err) {
        if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
        throw new ConflictError('LAB_EXISTS', `Lab '${spec.name}' already exists in tenant '${spec.tenant}'.`, { cause: err });
      }
    },

    async update(tenant, name, spec, expectedVersion) {
      if (expectedVersion !== undefined) return updateAt(tenant, name, spec, expectedVersion);
      const written = await modify<LabObject>(
        `Lab ${tenant}/${name}`,
        () => cache.fresh(tenant, name),
        await cache.get(tenant, name),
        (current) => (sameSpec(current, spec) ? undefined : withVersion(labObject(tenant, name, spec, current), current.metadata?.resourceVersion)),
        (next) => replace(tenant, name, next),
      ).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (written === undefined) throw new NotFoundError('lab', name);
      return labRecordOf(written);
    },

    async updateStatus(tenant, name, mutate) {
      const written = await modify<LabObject>(
        `Lab ${tenant}/${name} status`,
        () => cache.fresh(tenant, name),
        await cache.get(tenant, name),
        (current) => {
          const before = labStatusOf(current);
          const next = mutate(structuredClone(before));
          if (next === undefined || isDeepStrictEqual(next, before)) return undefined;
          const status = JSON.parse(JSON.stringify(next)) as LabObject['status'] & object;
          return { ...withVersion(current, current.metadata?.resourceVersion), status };
        },
        (next) => replaceStatus(tenant, name, next),
      ).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (written === undefined) throw new NotFoundError('lab', name);
      return labRecordOf(written);
    },

    async delete(tenant, name) {
      try {
        const last = (await client.request(ctx('delete', tenant, name), () =>
          custom.deleteNamespacedCustomObject({ ...labApi(tenant), name, propagationPolicy: 'Background' }),
        )) as LabObject;
        if (last.kind !== 'Lab') {
          const known = await cache.get(tenant, name);
          if (known !== undefined) cache.forget(known);
        } else if (last.metadata?.deletionTimestamp !== undefined && last.metadata.deletionTimestamp !== null) {
          cache.remember(last);
        } else {
          cache.forget(last);
        }
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },

    watch(listener) {
      return cache.subscribe((type, obj) => {
        const lab = labRecordOf(obj);
        listener({ type: type === 'delete' ? 'deleted' : 'changed', tenant: lab.tenant, name: lab.name, lab });
      });
    },
  };
}
