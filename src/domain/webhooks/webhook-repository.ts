import type { Webhook, WebhookRecord } from './webhook.js';

/**
 * Where webhooks live (Kubernetes Secrets in the control plane's own namespace, or memory in tests). Reads
 * are cheap (a watch-backed cache): the delivery fan-out lists a tenant's webhooks on every
 * terminal operation.
 *
 * Invariants every implementation keeps:
 * - reads other than `getWithSecret` never return the signing secret;
 * - `create` of an existing id throws ConflictError `WEBHOOK_EXISTS` and writes nothing; a tenant
 *   that does not exist is NotFoundError('tenant');
 * - a webhook read right after its create or delete reflects it (read-your-writes in one process);
 * - nothing cascades from a tenant: deleting one calls `deleteAll` (the tenant deletion job);
 * - an unreachable backend surfaces as UpstreamUnavailableError.
 */
export interface WebhookRepository {
  /** The tenant's webhooks (any order); `[]` for an unknown tenant. */
  list(tenant: string): Promise<readonly Webhook[]>;
  get(tenant: string, id: string): Promise<Webhook | undefined>;
  /** The webhook with its signing secret: for the delivery worker only. */
  getWithSecret(tenant: string, id: string): Promise<WebhookRecord | undefined>;
  create(record: WebhookRecord): Promise<void>;
  /** False when there was no such webhook. */
  delete(tenant: string, id: string): Promise<boolean>;
  /** Deletes every webhook of the tenant (its deletion); resolves how many there were. Idempotent. */
  deleteAll(tenant: string): Promise<number>;
}
