import type { V1Secret } from '@kubernetes/client-node';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';
import type { TenantRepository } from '../../domain/tenants/tenant-repository.js';
import { toWebhook, type Webhook, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';
import { isConflict, isNotFound } from './errors.js';
import { listOptions } from './kube-reads.js';
import { MAX_CONFLICT_ATTEMPTS, withVersion } from './kube-writes.js';
import { cacheGroup, createResourceCache, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import type { KubeClient } from './kube-client.js';
import { LABEL_TENANT } from './tenant-objects.js';
import {
  isWebhookSecret,
  LABEL_WEBHOOK_ID,
  tenantWebhookSelector,
  webhookFromSecret,
  webhookSecretName,
  webhookSecretObject,
  WEBHOOK_SELECTOR,
} from './webhook-objects.js';

export interface KubeWebhookRepositoryDeps extends CacheOptions {
  /** Its writes take tokens of this client's rate limiter. */
  readonly client: KubeClient;
  /** The control plane's own namespace (CONTROL_NAMESPACE): every webhook Secret lives there. */
  readonly namespace: string;
  /** A create for a tenant it does not know is NotFoundError('tenant'). */
  readonly tenants: Pick<TenantRepository, 'get'>;
}

/** Webhooks as Secrets (see `webhook-objects.ts`); `start` before serving, `close` on shutdown. */
export interface KubeWebhookRepository extends WebhookRepository, WatchedLifecycle {}

/**
 * Webhooks in Kubernetes: one Secret per webhook in the control plane's own namespace, labelled
 * with its tenant; the only namespace whose Secrets the control plane may read (RBAC Role
 * `labplane-control`). Nothing cascades from a tenant's namespace: `deleteAll` removes a deleted
 * tenant's webhooks. Reads come from a watch of our webhook Secrets in that namespace and cost the
 * API server nothing once synced; before that they go to it directly. Writes go through the client
 * (rate limited) and are put in the cache at once (read-your-writes). Needs get/list/watch/create/
 * delete on Secrets in that namespace only.
 */
export function createKubeWebhookRepository(deps: KubeWebhookRepositoryDeps): KubeWebhookRepository {
  const { client, namespace } = deps;
  const { core } = client;
  const informer = createResourceCache<V1Secret>({
    client,
    name: 'webhook secrets',
    kind: 'Secret',
    resource: 'webhook',
    path: `/api/v1/namespaces/${namespace}/secrets`,
    labelSelector: WEBHOOK_SELECTOR,
    api: {
      list: (q) => core.listNamespacedSecret({ namespace, ...listOptions(q) }),
      read: (_, name) => core.readNamespacedSecret({ namespace, name }),
    },
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  const group = cacheGroup(client.logger, [informer]);
  const ofTenant = (tenant: string) => (s: V1Secret) => s.metadata?.labels?.[LABEL_TENANT] === tenant;

  async function secretsOf(tenant: string): Promise<V1Secret[]> {
    const secrets = informer.synced()
      ? await informer.list(namespace)
      : await informer.listDirect({ namespace, labelSelector: tenantWebhookSelector(tenant) });
    return secrets.filter(ofTenant(tenant));
  }

  async function secretOf(tenant: string, id: string): Promise<V1Secret | undefined> {
    const s = await informer.get(namespace, webhookSecretName(id));
    return isWebhookSecret(s) && ofTenant(tenant)(s) ? s : undefined;
  }

  async function record(tenant: string, id: string): Promise<WebhookRecord | undefined> {
    const s = await secretOf(tenant, id);
    const w = s === undefined ? undefined : webhookFromSecret(s);
    return w?.id === id && w.tenant === tenant ? w : undefined;
  }

  const stale = () => new PreconditionFailedError('VERSION_MISMATCH', 'The webhook changed since the version given in If-Match.');

  /** The webhook's Secret read from the API server (after a write conflict). */
  async function fresh(tenant: string, id: string): Promise<V1Secret | undefined> {
    const found = await informer.listDirect({ namespace, labelSelector: `${tenantWebhookSelector(tenant)},${LABEL_WEBHOOK_ID}=${id}` });
    for (const s of found) informer.remember(s);
    return found.find((s) => s.metadata?.name === webhookSecretName(id));
  }

  /** Deletes the Secret held in `s` only if it is still that object (uid precondition): another tenant's never goes. */
  async function remove(s: V1Secret): Promise<boolean> {
    const name = s.metadata?.name ?? '';
    const uid = s.metadata?.uid;
    try {
      await client.request({ what: `delete Secret ${namespace}/${name}`, write: true, resource: 'webhook', name }, () =>
        core.deleteNamespacedSecret({ namespace, name, ...(uid === undefined ? {} : { body: { preconditions: { uid } } }) }),
      );
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err, 'VERSION_CONFLICT')) throw err;
      informer.forget(s);
      return false;
    }
    informer.forget(s);
    return true;
  }

  return {
    ...lifecycleOf(group, deps),

    async list(tenant) {
      return (await secretsOf(tenant)).flatMap((s): Webhook[] => {
        const w = webhookFromSecret(s);
        return w === undefined ? [] : [toWebhook(w)];
      });
    },

    async get(tenant, id) {
      const w = await record(tenant, id);
      return w === undefined ? undefined : toWebhook(w);
    },

    getWithSecret: (tenant, id) => record(tenant, id),

    async create(w) {
      if ((await deps.tenants.get(w.tenant)) === undefined) throw new NotFoundError('tenant', w.tenant);
      const body = webhookSecretObject(w, namespace);
      const name = body.metadata?.name ?? '';
      try {
        const created = await client.request({ what: `create Secret ${namespace}/${name}`, write: true, resource: 'tenant', name: w.tenant }, () =>
          core.createNamespacedSecret({ namespace, body }),
        );
        informer.remember(created);
        const stored = webhookFromSecret(created);
        if (stored === undefined) throw new TypeError('the API server answered a Secret that is not the webhook written');
        return stored;
      } catch (err) {
        if (isConflict(err, 'ALREADY_EXISTS')) throw new ConflictError('WEBHOOK_EXISTS', `webhook '${w.id}' already exists.`, { cause: err });
        throw err;
      }
    },

    // A replace over the version read (optimistic concurrency): a conflict re-reads and applies the
    // change again, unless the caller named a version (If-Match), which is then stale.
    async update(tenant, id, change, ifMatch) {
      for (let attempt = 0; attempt < MAX_CONFLICT_ATTEMPTS; attempt++) {
        const s = attempt === 0 ? await secretOf(tenant, id) : await fresh(tenant, id);
        const current = s === undefined ? undefined : webhookFromSecret(s);
        if (s === undefined || current === undefined || current.id !== id || current.tenant !== tenant) return undefined;
        if (ifMatch !== undefined && ifMatch !== current.version) throw stale();
        const next = change(current);
        if (next === undefined) return { record: current, changed: false };
        const name = webhookSecretName(id);
        const body = withVersion(webhookSecretObject({ ...next, id, tenant }, namespace), current.version);
        try {
          const written = await client.request({ what: `replace Secret ${namespace}/${name}`, write: true, resource: 'webhook', name: id }, () =>
            core.replaceNamespacedSecret({ namespace, name, body }),
          );
          informer.remember(written);
          const stored = webhookFromSecret(written);
          if (stored === undefined) throw new TypeError('the API server answered a Secret that is not the webhook written');
          return { record: stored, changed: true };
        } catch (err) {
          if (isNotFound(err)) return undefined;
          if (!isConflict(err, 'VERSION_CONFLICT')) throw err;
          if (ifMatch !== undefined) throw stale();
        }
      }
      throw new ConflictError('VERSION_CONFLICT', `webhook '${id}' kept changing while it was being written; try again.`);
    },

    async delete(tenant, id) {
      const s = await secretOf(tenant, id);
      return s === undefined ? false : remove(s);
    },

    async deleteAll(tenant) {
      let deleted = 0;
      for (const s of await secretsOf(tenant)) if (await remove(s)) deleted += 1;
      return deleted;
    },
  };
}
