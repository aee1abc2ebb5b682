import { createHash } from 'node:crypto';
import type { V1ConfigMap } from '@kubernetes/client-node';
import type { LtiRegistrationRepository } from '../../domain/lti/ports.js';
import type { LtiRegistration, LtiRegistrationInput } from '../../domain/lti/registration.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';
import type { TenantRepository } from '../../domain/tenants/tenant-repository.js';
import { isConflict } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { listOptions } from './kube-reads.js';
import { configMapOps, deleteExactly, MAX_CONFLICT_ATTEMPTS, withVersion } from './kube-writes.js';
import { cacheGroup, createResourceCache, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY, MANAGED_SELECTOR } from './tenant-objects.js';

export const LABEL_LTI_REGISTRATION = 'labplane.io/lti-registration';
export const LABEL_LTI_REGISTRATION_ID = 'labplane.io/lti-registration-id';
/** Our registration ConfigMaps (all in the control plane's namespace). */
export const LTI_REGISTRATION_SELECTOR = `${MANAGED_SELECTOR},${LABEL_LTI_REGISTRATION}=true`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const BY_ID = 'lti-registration-id';
const BY_ISSUER = 'lti-issuer';

/**
 * The ConfigMap name of a registration: derived from (issuer, clientId), so the API server's name
 * uniqueness is what keeps the pair unique across tenants and replicas (no read-then-write race).
 */
export function ltiRegistrationName(issuer: string, clientId: string): string {
  const digest = createHash('sha256').update(issuer, 'utf8').update('\0').update(clientId, 'utf8').digest('hex');
  return `labplane-lti-${digest.slice(0, 40)}`;
}

/** The ConfigMap holding a registration (nothing in it is secret), labelled with its tenant and id. */
export function ltiRegistrationObject(r: Omit<LtiRegistration, 'version'>, namespace: string): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: ltiRegistrationName(r.issuer, r.clientId),
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: r.tenant, [LABEL_LTI_REGISTRATION]: 'true', [LABEL_LTI_REGISTRATION_ID]: r.id },
    },
    data: {
      issuer: r.issuer,
      clientId: r.clientId,
      deploymentIds: JSON.stringify(r.deploymentIds),
      authLoginUrl: r.authLoginUrl,
      accessTokenUrl: r.accessTokenUrl,
      jwksUrl: r.jwksUrl,
      createdAt: r.createdAt,
      createdBy: r.createdBy,
      ...(r.displayName === undefined ? {} : { displayName: r.displayName }),
    },
  };
}

/** The registration a ConfigMap holds, or undefined when it is not (or no longer) a well-formed one of ours. */
export function ltiRegistrationFromConfigMap(cm: V1ConfigMap): LtiRegistration | undefined {
  const labels = cm.metadata?.labels ?? {};
  if (labels[LABEL_MANAGED_BY] !== MANAGED_BY || labels[LABEL_LTI_REGISTRATION] !== 'true') return undefined;
  const d = cm.data ?? {};
  const id = labels[LABEL_LTI_REGISTRATION_ID];
  const tenant = labels[LABEL_TENANT];
  const { issuer, clientId, authLoginUrl, accessTokenUrl, jwksUrl } = d;
  let deploymentIds: unknown;
  try {
    deploymentIds = JSON.parse(d['deploymentIds'] ?? '');
  } catch {
    return undefined;
  }
  if (
    id === undefined ||
    tenant === undefined ||
    issuer === undefined ||
    clientId === undefined ||
    authLoginUrl === undefined ||
    accessTokenUrl === undefined ||
    jwksUrl === undefined ||
    !Array.isArray(deploymentIds) ||
    !deploymentIds.every((x) => typeof x === 'string') ||
    cm.metadata?.name !== ltiRegistrationName(issuer, clientId)
  ) {
    return undefined;
  }
  return {
    id,
    tenant,
    ...(d['displayName'] === undefined ? {} : { displayName: d['displayName'] }),
    issuer,
    clientId,
    deploymentIds: deploymentIds as string[],
    authLoginUrl,
    accessTokenUrl,
    jwksUrl,
    createdAt: d['createdAt'] ?? cm.metadata?.creationTimestamp?.toISOString?.() ?? new Date(0).toISOString(),
    createdBy: d['createdBy'] ?? '',
    version: cm.metadata?.resourceVersion ?? '',
  };
}

export interface KubeLtiRegistrationRepositoryDeps extends CacheOptions {
  readonly client: KubeClient;
  /** The control plane's own namespace (CONTROL_NAMESPACE): every registration ConfigMap lives there. */
  readonly namespace: string;
  /** A create for a tenant it does not know is NotFoundError('tenant'). */
  readonly tenants: Pick<TenantRepository, 'get'>;
}

/** Registrations as ConfigMaps; `start` before serving, `close` on shutdown. */
export interface KubeLtiRegistrationRepository extends LtiRegistrationRepository, WatchedLifecycle {}

function taken(issuer: string, clientId: string, cause?: unknown): ConflictError {
  return new ConflictError('LTI_REGISTRATION_EXISTS', 'This platform issuer and client id are already registered.', {
    details: { issuer, clientId },
    ...(cause === undefined ? {} : { cause }),
  });
}

const stale = () => new PreconditionFailedError('VERSION_MISMATCH', 'The registration changed since the version given in If-Match.');

/**
 * LTI registrations in Kubernetes: one ConfigMap per registration in the control plane's namespace,
 * named after its (issuer, clientId) and labelled with its tenant and id. Reads come from the one
 * watch-backed cache (indexed by id and issuer) and cost the API server nothing once synced; writes
 * are put in the cache at once (read-your-writes). Needs get/list/watch/create/update/delete on
 * ConfigMaps in that namespace only.
 */
export function createKubeLtiRegistrationRepository(deps: KubeLtiRegistrationRepositoryDeps): KubeLtiRegistrationRepository {
  const { client, namespace } = deps;
  const { core } = client;
  const ops = configMapOps(client);
  const informer = createResourceCache<V1ConfigMap>({
    client,
    name: 'lti registrations',
    kind: 'ConfigMap',
    resource: 'lti_registration',
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    labelSelector: LTI_REGISTRATION_SELECTOR,
    readsMatchSelector: true,
    api: {
      list: (q) => core.listNamespacedConfigMap({ namespace, ...listOptions(q) }),
      read: (_, name) => core.readNamespacedConfigMap({ namespace, name }),
    },
    indexers: {
      [BY_ID]: (cm) => [cm.metadata?.labels?.[LABEL_LTI_REGISTRATION_ID] ?? ''],
      [BY_ISSUER]: (cm) => [cm.data?.['issuer'] ?? ''],
    },
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  const group = cacheGroup(client.logger, [informer]);

  async function all(labelSelector = LTI_REGISTRATION_SELECTOR): Promise<V1ConfigMap[]> {
    // Tenant ids are DNS labels; anything else would not be a label selector value (and has no registrations).
    if (labelSelector !== LTI_REGISTRATION_SELECTOR && !DNS_LABEL.test(labelSelector.split('=').pop() ?? '')) return [];
    return informer.synced() ? informer.list(namespace) : informer.listDirect({ namespace, labelSelector });
  }

  /** The ConfigMap of registration `id` (newest first while a rename has two). */
  async function objectOf(tenant: string, id: string): Promise<V1ConfigMap | undefined> {
    if (!UUID.test(id)) return undefined;
    const found = informer.synced()
      ? informer.byIndex(BY_ID, id)
      : await informer.listDirect({ namespace, labelSelector: `${LTI_REGISTRATION_SELECTOR},${LABEL_LTI_REGISTRATION_ID}=${id}` });
    return found
      .filter((cm) => ltiRegistrationFromConfigMap(cm)?.tenant === tenant)
      .sort((a, b) => Number(b.metadata?.resourceVersion ?? 0) - Number(a.metadata?.resourceVersion ?? 0))[0];
  }

  /**
   * Deletes the ConfigMap held in `cm` only if it is still that object (uid; with `exact`, also that
   * version: a changed one is ConflictError `VERSION_CONFLICT`): a registration re-created meanwhile never goes.
   */
  async function remove(cm: V1ConfigMap, exact: boolean): Promise<boolean> {
    try {
      return await deleteExactly(client, 'ConfigMap', cm, (ns, name, body) => core.deleteNamespacedConfigMap({ namespace: ns, name, body }), {
        resourceVersion: exact,
      });
    } catch (err) {
      if (exact || !isConflict(err, 'VERSION_CONFLICT')) throw err;
      return false;
    } finally {
      informer.forget(cm);
    }
  }

  async function create(r: Omit<LtiRegistration, 'version'>): Promise<LtiRegistration> {
    const body = ltiRegistrationObject(r, namespace);
    try {
      const created = await client.request(
        { what: `create ConfigMap ${namespace}/${body.metadata?.name ?? ''}`, write: true, resource: 'tenant', name: r.tenant },
        () => ops.create(namespace, body),
      );
      informer.remember(created);
      const out = ltiRegistrationFromConfigMap(created);
      if (out === undefined) throw new TypeError('the API server answered a ConfigMap that is not the registration written');
      return out;
    } catch (err) {
      if (isConflict(err, 'ALREADY_EXISTS')) throw taken(r.issuer, r.clientId, err);
      throw err;
    }
  }

  return {
    ...lifecycleOf(group, deps),

    async list(tenant) {
      return (await all(`${LTI_REGISTRATION_SELECTOR},${LABEL_TENANT}=${tenant}`)).flatMap((cm) => {
        const r = ltiRegistrationFromConfigMap(cm);
        return r?.tenant === tenant ? [r] : [];
      });
    },

    async get(tenant, id) {
      const cm = await objectOf(tenant, id);
      return cm === undefined ? undefined : ltiRegistrationFromConfigMap(cm);
    },

    async findByClient(issuer, clientId) {
      const cm = await informer.get(namespace, ltiRegistrationName(issuer, clientId));
      const r = cm === undefined ? undefined : ltiRegistrationFromConfigMap(cm);
      return r?.issuer === issuer && r.clientId === clientId ? r : undefined;
    },

    async findByIssuer(issuer) {
      const found = informer.synced() ? informer.byIndex(BY_ISSUER, issuer) : await all();
      return found.flatMap((cm) => {
        const r = ltiRegistrationFromConfigMap(cm);
        return r?.issuer === issuer ? [r] : [];
      });
    },

    async create(r) {
      if ((await deps.tenants.get(r.tenant)) === undefined) throw new NotFoundError('tenant', r.tenant);
      return create(r);
    },

    async update(tenant, id, input: LtiRegistrationInput, ifMatch) {
      for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
        const cm = attempt === 0 ? await objectOf(tenant, id) : await fresh(tenant, id);
        const current = cm === undefined ? undefined : ltiRegistrationFromConfigMap(cm);
        if (cm === undefined || current === undefined) throw new NotFoundError('lti_registration', id);
        if (ifMatch !== undefined && ifMatch !== current.version) throw stale();
        const next: Omit<LtiRegistration, 'version'> = {
          id,
          tenant,
          ...input,
          deploymentIds: [...input.deploymentIds],
          createdAt: current.createdAt,
          createdBy: current.createdBy,
        };
        const desired = ltiRegistrationObject(next, namespace);
        if (desired.metadata?.name === cm.metadata?.name) {
          try {
            const written = await client.request(
              { what: `replace ConfigMap ${namespace}/${cm.metadata?.name ?? ''}`, write: true, resource: 'lti_registration', name: id },
              () => ops.replace(namespace, cm.metadata?.name ?? '', withVersion(desired, current.version)),
            );
            informer.remember(written);
            const out = ltiRegistrationFromConfigMap(written);
            if (out === undefined) throw new TypeError('the API server answered a ConfigMap that is not the registration written');
            return out;
          } catch (err) {
            if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
            if (ifMatch !== undefined) throw stale();
            continue;
          }
        }
        // A new (issuer, clientId) is a new name: create it (refused when the pair is taken), then
        // delete the old one only if it is still the version read, else undo.
        const created = await create(next);
        try {
          if (await remove(cm, true)) return created;
        } catch (err) {
          if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
        }
        const createdObj = informer.peek(namespace, desired.metadata?.name ?? '');
        if (createdObj !== undefined) await remove(createdObj, false);
        if (ifMatch !== undefined) throw stale();
      }
      throw new ConflictError('VERSION_CONFLICT', `LTI registration '${id}' kept changing while it was being written; try again.`);
    },

    async delete(tenant, id) {
      const cm = await objectOf(tenant, id);
      return cm === undefined ? false : remove(cm, false);
    },

    async deleteAll(tenant) {
      let deleted = 0;
      for (const cm of await all(`${LTI_REGISTRATION_SELECTOR},${LABEL_TENANT}=${tenant}`)) {
        if (ltiRegistrationFromConfigMap(cm)?.tenant === tenant && (await remove(cm, false))) deleted += 1;
      }
      return deleted;
    },
  };

  /** The registration's ConfigMap read from the API server (after a write conflict). */
  async function fresh(tenant: string, id: string): Promise<V1ConfigMap | undefined> {
    const found = await informer.listDirect({ namespace, labelSelector: `${LTI_REGISTRATION_SELECTOR},${LABEL_LTI_REGISTRATION_ID}=${id}` });
    for (const cm of found) informer.remember(cm);
    return found.filter((cm) => ltiRegistrationFromConfigMap(cm)?.tenant === tenant)[0];
  }
}
