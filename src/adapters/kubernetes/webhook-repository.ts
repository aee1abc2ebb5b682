import type { V1Secret } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import type { TenantRepository } from '../../domain/tenants/tenant-repository.js';
import { toWebhook, type Webhook, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';
import { isConflict, isNotFound } from './errors.js';
import { listOptions } from './kube-reads.js';
import { cacheGroup, createResourceCache, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import type { KubeClient } from './kube-client.js';
import { LABEL_TENANT } from './tenant-objects.js';
import {
  isWebhookSecret,
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
      } catch (err) {
        if (isConflict(err, 'ALREADY_EXISTS')) throw new ConflictError('WEBHOOK_EXISTS', `webhook '${w.id}' already exists.`, { cause: err });
        throw err;
      }
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
