import type { V1Secret } from '@kubernetes/client-node';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { toWebhook, type Webhook, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';
import { isConflict, isNotFound } from './errors.js';
import { createInformedStore, listAllPages, waitForSync, type InformedStore, type InformerHealth } from './informed-store.js';
import type { KubeClient } from './kube-client.js';
import { isWebhookSecret, webhookFromSecret, webhookSecretName, webhookSecretObject, WEBHOOK_SELECTOR } from './webhook-objects.js';

const PAGE = 500;

export interface KubeWebhookRepositoryDeps {
  /** Its writes take tokens of this client's rate limiter. */
  readonly client: KubeClient;
  /** How long `start` waits for the informer before reads go to the API server directly (default 10 000 ms). */
  readonly syncTimeoutMs?: number;
  readonly watchRestartDelayMs?: { readonly min: number; readonly max: number };
}

/** Webhooks as Secrets (see `webhook-objects.ts`); `start` before serving, `close` on shutdown. */
export interface KubeWebhookRepository extends WebhookRepository {
  start(): Promise<boolean>;
  close(): Promise<void>;
  cacheSynced(): boolean;
  /** The informer's state, for readiness. */
  informers(): readonly InformerHealth[];
}

/**
 * Webhooks in Kubernetes: one Secret per webhook in its tenant's namespace (deleting the tenant
 * deletes them). Reads come from a watch of our webhook Secrets (label selector
 * `WEBHOOK_SELECTOR`, every namespace) and cost the API server nothing once synced; before that
 * they go to it directly. Writes go through the client (rate limited) and are put in the cache at
 * once (read-your-writes). Needs list/watch/create/delete on Secrets.
 */
export function createKubeWebhookRepository(deps: KubeWebhookRepositoryDeps): KubeWebhookRepository {
  const { client } = deps;
  const { core } = client;
  const cursor = (cont: string | undefined) => (cont === undefined ? {} : { _continue: cont });
  const informer: InformedStore<V1Secret> = createInformedStore<V1Secret>({
    client,
    name: 'webhook secrets',
    path: '/api/v1/secrets',
    labelSelector: WEBHOOK_SELECTOR,
    listPage: (cont) => core.listSecretForAllNamespaces({ labelSelector: WEBHOOK_SELECTOR, limit: PAGE, ...cursor(cont) }),
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });

  async function secretsOf(tenant: string): Promise<V1Secret[]> {
    if (informer.synced()) return informer.store.list(tenant);
    try {
      const res = await listAllPages(client, `list webhook Secrets in ${tenant}`, (cont) =>
        core.listNamespacedSecret({ namespace: tenant, labelSelector: WEBHOOK_SELECTOR, limit: PAGE, ...cursor(cont) }),
      );
      return res.items;
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  async function secretOf(tenant: string, id: string): Promise<V1Secret | undefined> {
    const name = webhookSecretName(id);
    if (informer.synced()) return informer.store.get(name, tenant);
    try {
      const s = await client.request({ what: `read Secret ${tenant}/${name}`, write: false, resource: 'webhook', name: id }, () =>
        core.readNamespacedSecret({ namespace: tenant, name }),
      );
      return isWebhookSecret(s) ? s : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async function record(tenant: string, id: string): Promise<WebhookRecord | undefined> {
    const s = await secretOf(tenant, id);
    const w = s === undefined ? undefined : webhookFromSecret(s);
    return w?.id === id && w.tenant === tenant ? w : undefined;
  }

  return {
    async start() {
      informer.start();
      const timeoutMs = deps.syncTimeoutMs ?? 10_000;
      const outcome = await waitForSync([informer], timeoutMs);
      if (outcome === 'timeout') client.logger.warn({ timeoutMs }, 'the webhook Secret informer did not sync in time; reading from the API server until it does');
      return outcome === 'synced';
    },
    close: () => informer.stop(),
    cacheSynced: () => informer.synced(),
    informers: () => [informer.health()],

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
      const body = webhookSecretObject(w);
      const name = body.metadata?.name ?? '';
      try {
        const created = await client.request({ what: `create Secret ${w.tenant}/${name}`, write: true, resource: 'tenant', name: w.tenant }, () =>
          core.createNamespacedSecret({ namespace: w.tenant, body }),
        );
        informer.store.upsert(created);
      } catch (err) {
        if (isConflict(err, 'ALREADY_EXISTS')) throw new ConflictError('WEBHOOK_EXISTS', `webhook '${w.id}' already exists.`, { cause: err });
        if (err instanceof NotFoundError) throw new NotFoundError('tenant', w.tenant, { cause: err });
        throw err;
      }
    },

    async delete(tenant, id) {
      const name = webhookSecretName(id);
      const held = informer.store.get(name, tenant);
      const forget = () => informer.store.remove(held ?? { metadata: { name, namespace: tenant } });
      try {
        await client.request({ what: `delete Secret ${tenant}/${name}`, write: true, resource: 'webhook', name: id }, () =>
          core.deleteNamespacedSecret({ namespace: tenant, name }),
        );
      } catch (err) {
        if (!isNotFound(err)) throw err;
        forget();
        return false;
      }
      forget();
      return true;
    },
  };
}
