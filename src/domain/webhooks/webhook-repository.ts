import type { NewWebhookRecord, Webhook, WebhookRecord } from './webhook.js';

/**
 * Where webhooks live (Kubernetes Secrets in the control plane's own namespace, or memory in tests). Reads
 * are cheap (a watch-backed cache): the delivery fan-out lists a tenant's webhooks on every
 * terminal operation.
 *
 * Invariants every implementation keeps:
 * - reads other than `getWithSecret` never return the signing secret;
 * - `create` of an existing id throws ConflictError `WEBHOOK_EXISTS` and writes nothing; a tenant
 *   that does not exist is NotFoundError('tenant');
 * - a webhook read right after its create, update or delete reflects it (read-your-writes in one process);
 * - every write gives the webhook a new `version`; `update` with an `ifMatch` other than the current
 *   version throws PreconditionFailedError `VERSION_MISMATCH` and writes nothing; without `ifMatch` a
 *   concurrent write makes it apply `change` again to the newer record;
 * - nothing cascades from a tenant: deleting one calls `deleteAll` (the tenant deletion job);
 * - an unreachable backend surfaces as UpstreamUnavailableError.
 */
export interface WebhookRepository {
  /** The tenant's webhooks (any order); `[]` for an unknown tenant. */
  list(tenant: string): Promise<readonly Webhook[]>;
  get(tenant: string, id: string): Promise<Webhook | undefined>;
  /** The webhook with its signing secret: for the delivery worker only. */
  getWithSecret(tenant: string, id: string): Promise<WebhookRecord | undefined>;
  /** Resolves the record as stored (with its version). */
  create(record: NewWebhookRecord): Promise<WebhookRecord>;
  /**
   * Applies `change` to the current record (it answers the next record, or undefined to write nothing)
   * and writes the result; resolves undefined when there is no such webhook. `change` may run more
   * than once (write conflicts) and may throw to refuse.
   */
  update(
    tenant: string,
    id: string,
    change: (current: WebhookRecord) => NewWebhookRecord | undefined,
    ifMatch?: string,
  ): Promise<WebhookUpdate | undefined>;
  /** False when there was no such webhook. */
  delete(tenant: string, id: string): Promise<boolean>;
  /** Deletes every webhook of the tenant (its deletion); resolves how many there were. Idempotent. */
  deleteAll(tenant: string): Promise<number>;
}

/** What `WebhookRepository.update` did. */
export interface WebhookUpdate {
  /** The record after the update (the current one when nothing was written). */
  readonly record: WebhookRecord;
  /** False when `change` answered undefined. */
  readonly changed: boolean;
}
