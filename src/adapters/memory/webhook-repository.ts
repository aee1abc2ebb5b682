import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';
import { toWebhook, type NewWebhookRecord, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../domain/webhooks/webhook-repository.js';

export interface MemoryWebhookRepositoryDeps {
  /** Tenants that exist; without it every tenant does. A create in another is NotFoundError('tenant'). */
  readonly tenantExists?: (tenant: string) => boolean;
  readonly webhooks?: readonly NewWebhookRecord[];
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
  let versions = 0;
  const versioned = (w: NewWebhookRecord): WebhookRecord => ({ ...structuredClone(w), version: String(++versions) });
  const hooksOf = (tenant: string) => byTenant.get(tenant) ?? new Map<string, WebhookRecord>();
  for (const w of deps.webhooks ?? []) byTenant.set(w.tenant, hooksOf(w.tenant).set(w.id, versioned(w)));

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
      const stored = versioned(record);
      byTenant.set(record.tenant, hooks.set(record.id, stored));
      return structuredClone(stored);
    },
    async update(tenant, id, change, ifMatch) {
      check();
      const current = byTenant.get(tenant)?.get(id);
      if (current === undefined) return undefined;
      if (ifMatch !== undefined && ifMatch !== current.version) {
        throw new PreconditionFailedError('VERSION_MISMATCH', 'The webhook changed since the version given in If-Match.');
      }
      const next = change(structuredClone(current));
      if (next === undefined) return { record: structuredClone(current), changed: false };
      const { version: _v, ...rest } = next as WebhookRecord;
      const stored = versioned({ ...rest, id, tenant });
      hooksOf(tenant).set(id, stored);
      return { record: structuredClone(stored), changed: true };
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
