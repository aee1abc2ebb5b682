import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { toWebhook, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';

export interface MemoryWebhookRepositoryDeps {
  /** Tenants that exist; without it every tenant does. A create in another is NotFoundError('tenant'). */
  readonly tenantExists?: (tenant: string) => boolean;
  readonly webhooks?: readonly WebhookRecord[];
}

/** In-memory `WebhookRepository` (tests), with fault injection. */
export interface MemoryWebhookRepository extends WebhookRepository {
  /** The next call (any method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Forgets every webhook of a tenant (what deleting its namespace does). */
  dropTenant(tenant: string): void;
}

export function createMemoryWebhookRepository(deps: MemoryWebhookRepositoryDeps = {}): MemoryWebhookRepository {
  const byTenant = new Map<string, Map<string, WebhookRecord>>();
  let failure: Error | undefined;
  const hooksOf = (tenant: string) => byTenant.get(tenant) ?? new Map<string, WebhookRecord>();
  for (const w of deps.webhooks ?? []) byTenant.set(w.tenant, hooksOf(w.tenant).set(w.id, structuredClone(w)));

  function check(): void {
    const err = failure;
    failure = undefined;
    if (err !== undefined) throw err;
  }

  return {
    failNext(err) {
      failure = err;
    },
    dropTenant(tenant) {
      byTenant.delete(tenant);
    },
    async list(tenant) {
      check();
      return [...hooksOf(tenant).values()].map(toWebhook);
    },
    async get(tenant, id) {
      check();
      const w = hooksOf(tenant).get(id);
      return w === undefined ? undefined : toWebhook(w);
    },
    async getWithSecret(tenant, id) {
      check();
      const w = hooksOf(tenant).get(id);
      return w === undefined ? undefined : structuredClone(w);
    },
    async create(record) {
      check();
      if (deps.tenantExists !== undefined && !deps.tenantExists(record.tenant)) throw new NotFoundError('tenant', record.tenant);
      const hooks = hooksOf(record.tenant);
      if (hooks.has(record.id)) throw new ConflictError('WEBHOOK_EXISTS', `webhook '${record.id}' already exists.`);
      byTenant.set(record.tenant, hooks.set(record.id, structuredClone(record)));
    },
    async delete(tenant, id) {
      check();
      return byTenant.get(tenant)?.delete(id) ?? false;
    },
    async deleteAll(tenant) {
      check();
      const n = hooksOf(tenant).size;
      byTenant.delete(tenant);
      return n;
    },
  };
}
