import { authorize, canSeeTenant } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { checkOutboundUrl, type HostResolver } from '../net/index.js';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../shared/errors.js';
import type { Clock, IdGenerator } from '../shared/ids.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { deliveryIdOf, toDelivery, type DeliveryStore, type StoredDelivery, type WebhookDelivery } from './delivery.js';
import { webhookOutboundPolicy, type WebhookUrlPolicy } from './delivery-processor.js';
import type { WebhookDispatcher } from './dispatcher.js';
import { pingEvent } from './events.js';
import { newWebhookSecret } from './signing.js';
import {
  canonicalEvents,
  DEFAULT_WEBHOOK_SECRET_OVERLAP_MS,
  isWebhookEventType,
  MAX_WEBHOOK_DESCRIPTION_LENGTH,
  MAX_WEBHOOK_SECRET_OVERLAP_HOURS,
  MAX_WEBHOOK_URL_LENGTH,
  MAX_WEBHOOKS_PER_TENANT,
  toWebhook,
  type NewWebhookRecord,
  type Webhook,
  type WebhookEventType,
  type WebhookRecord,
  type WebhookStatus,
} from './webhook.js';
import type { WebhookRepository } from './webhook-repository.js';
import { keyedSerializer } from '../shared/serialized.js';
import type { Precondition } from '../shared/precondition.js';

export interface CreateWebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly description?: string;
}

/** What a PATCH may change; absent fields stay. `description: null` (or '') removes it. */
export interface UpdateWebhookInput {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly description?: string | null;
  /** `active` re-enables a disabled webhook (its failure record starts again); `disabled` stops deliveries. */
  readonly status?: WebhookStatus;
}

/** A new webhook (or a rotated one) and its signing secret: the only time the secret is handed out. */
export interface CreatedWebhook {
  readonly webhook: Webhook;
  readonly secret: string;
}

export interface WebhookServiceDeps {
  readonly repo: WebhookRepository;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly deliveries: Pick<DeliveryStore, 'list' | 'deleteFor' | 'get'>;
  /** Pings and redeliveries are recorded and queued through it. */
  readonly dispatcher: Pick<WebhookDispatcher, 'enqueue' | 'redeliver'>;
  /** How long a rotated-out secret still signs, unless the rotation says otherwise (default `DEFAULT_WEBHOOK_SECRET_OVERLAP_MS`). */
  readonly secretOverlapMs?: number;
  readonly resolver: HostResolver;
  readonly policy: WebhookUrlPolicy;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  /** Default `newWebhookSecret`. */
  readonly newSecret?: () => string;
}

export type WebhookService = ReturnType<typeof createWebhookService>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function checkUrl(url: unknown, issues: FieldIssue[]): void {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_WEBHOOK_URL_LENGTH) {
    issues.push({ field: '/url', message: `1-${MAX_WEBHOOK_URL_LENGTH} characters` });
  }
}

function checkEvents(input: readonly string[] | undefined, issues: FieldIssue[]): WebhookEventType[] {
  const events = Array.isArray(input) ? input : [];
  if (events.length === 0) issues.push({ field: '/events', message: 'at least one event type' });
  const unknown = events.filter((e) => !isWebhookEventType(e));
  if (unknown.length > 0) issues.push({ field: '/events', message: `unknown event type(s): ${unknown.slice(0, 5).join(', ').slice(0, 200)}` });
  if (new Set(events).size !== events.length) issues.push({ field: '/events', message: 'duplicate event types' });
  return canonicalEvents(events.filter(isWebhookEventType));
}

function checkDescription(description: string | null | undefined, issues: FieldIssue[]): void {
  if (typeof description === 'string' && description.length > MAX_WEBHOOK_DESCRIPTION_LENGTH) {
    issues.push({ field: '/description', message: `at most ${MAX_WEBHOOK_DESCRIPTION_LENGTH} characters` });
  }
}

function assertInput(input: CreateWebhookInput): WebhookEventType[] {
  const issues: FieldIssue[] = [];
  checkUrl(input.url, issues);
  const events = checkEvents(input.events, issues);
  checkDescription(input.description, issues);
  if (issues.length > 0) throw new ValidationError('The webhook is not valid.', issues);
  return events;
}

function assertUpdate(input: UpdateWebhookInput): WebhookEventType[] | undefined {
  const issues: FieldIssue[] = [];
  if (input.url !== undefined) checkUrl(input.url, issues);
  const events = input.events === undefined ? undefined : checkEvents(input.events, issues);
  checkDescription(input.description, issues);
  if (input.status !== undefined && input.status !== 'active' && input.status !== 'disabled') {
    issues.push({ field: '/status', message: 'active or disabled' });
  }
  if (issues.length > 0) throw new ValidationError('The change is not valid.', issues);
  return events;
}

/** The record after a PATCH (pure); `now` stamps a disabling. */
function patched(current: WebhookRecord, input: UpdateWebhookInput, url: string | undefined, events: WebhookEventType[] | undefined, now: Date) {
  const { version: _v, description, disabledAt, disabledReason, failingSince, ...rest } = current;
  const nextDescription =
    input.description === undefined ? description : input.description === null || input.description === '' ? undefined : input.description;
  const status = input.status ?? current.status;
  const next: NewWebhookRecord = {
    ...rest,
    ...(url === undefined ? {} : { url }),
    ...(events === undefined ? {} : { events }),
    ...(nextDescription === undefined ? {} : { description: nextDescription }),
    status,
    // Re-enabling starts the receiver's failure record again; disabling on request keeps the first stamp.
    ...(status === 'disabled'
      ? {
          disabledAt: current.status === 'disabled' ? (disabledAt ?? now.toISOString()) : now.toISOString(),
          disabledReason: current.status === 'disabled' ? (disabledReason ?? 'requested') : 'requested',
        }
      : {}),
    ...(status === 'active' && current.status === 'disabled' ? {} : failingSince === undefined ? {} : { failingSince }),
  };
  return next;
}

const sameRecord = (a: NewWebhookRecord, b: WebhookRecord): boolean => {
  const { version: _v, ...rest } = b;
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(rest).sort());
};

/**
 * Webhook use cases (`webhook.read` / `webhook.write` in the tenant: owners and `labs.manage`
 * integrations; another tenant's webhooks answer 404). Registration vets the URL with the outbound
 * guard (refusal: UnprocessableError `URL_NOT_ALLOWED`) and caps a tenant at
 * `MAX_WEBHOOKS_PER_TENANT` (ConflictError `WEBHOOK_LIMIT_REACHED`); nothing is written on refusal.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { repo } = deps;
  const newSecret = deps.newSecret ?? (() => newWebhookSecret());
  const policy = webhookOutboundPolicy(deps.policy);
  /** Creates of one tenant run one at a time in this process, so the cap holds against concurrent requests. */
  const serialized = keyedSerializer();

  async function authorizeOn(p: Principal, tenant: string, write: boolean): Promise<void> {
    authorize(p, write ? 'webhook.write' : 'webhook.read', { tenant });
    const found = canSeeTenant(p, tenant) ? await deps.tenants.get(tenant) : undefined;
    if (found === undefined) throw new NotFoundError('tenant', tenant);
  }

  async function load(tenant: string, id: string): Promise<Webhook> {
    const hook = UUID.test(id) ? await repo.get(tenant, id) : undefined;
    if (hook === undefined) throw new NotFoundError('webhook', id);
    return toWebhook(hook);
  }

  /** The delivery `deliveryId` of webhook `id` in `tenant`, as stored; another's is 404. */
  async function storedDelivery(tenant: string, id: string, deliveryId: string): Promise<StoredDelivery> {
    const d = UUID.test(deliveryId) ? await deps.deliveries.get(deliveryId) : undefined;
    if (d === undefined || d.tenant !== tenant || d.webhookId !== id) throw new NotFoundError('delivery', deliveryId);
    return d;
  }

  function overlapMsOf(hours: number | undefined): number {
    if (hours === undefined) return deps.secretOverlapMs ?? DEFAULT_WEBHOOK_SECRET_OVERLAP_MS;
    if (!Number.isFinite(hours) || hours < 0 || hours > MAX_WEBHOOK_SECRET_OVERLAP_HOURS) {
      throw new ValidationError('The rotation is not valid.', [{ field: '/overlapHours', message: `0-${MAX_WEBHOOK_SECRET_OVERLAP_HOURS}` }]);
    }
    return hours * 3_600_000;
  }

  return {
    /** The tenant's webhooks, oldest first; never with secrets. */
    async list(p: Principal, tenant: string, page: PageRequest): Promise<Page<Webhook>> {
      await authorizeOn(p, tenant, false);
      const all = [...(await repo.list(tenant))].map(toWebhook).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      return pageByKey(all, key, page);
    },

    async get(p: Principal, tenant: string, id: string): Promise<Webhook> {
      await authorizeOn(p, tenant, false);
      return load(tenant, id);
    },

    /** Registers a webhook; answers it with its new signing secret (shown this once). */
    async create(p: Principal, tenant: string, input: CreateWebhookInput): Promise<CreatedWebhook> {
      await authorizeOn(p, tenant, true);
      const events = assertInput(input);
      const vetted = await checkOutboundUrl(input.url, policy, deps.resolver);
      return serialized(tenant, async () => {
        const count = (await repo.list(tenant)).length;
        if (count >= MAX_WEBHOOKS_PER_TENANT) {
          throw new ConflictError('WEBHOOK_LIMIT_REACHED', `A tenant may register at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first.`, {
            details: { limit: MAX_WEBHOOKS_PER_TENANT, registered: count },
          });
        }
        const secret = newSecret();
        const stored = await repo.create({
          id: deps.ids.next(),
          tenant,
          url: vetted.url.toString(),
          events,
          ...(input.description === undefined || input.description === '' ? {} : { description: input.description }),
          createdAt: deps.clock.now().toISOString(),
          createdBy: p.id,
          status: 'active',
          secret,
        });
        return { webhook: toWebhook(stored), secret };
      });
    },

    /** Deletes the webhook and its delivery records; queued deliveries to it are dropped. */
    async delete(p: Principal, tenant: string, id: string, precondition?: Precondition<Webhook>): Promise<void> {
      await authorizeOn(p, tenant, true);
      precondition?.(await load(tenant, id));
      if (!(await repo.delete(tenant, id))) throw new NotFoundError('webhook', id);
      await deps.deliveries.deleteFor(id);
    },

    /**
     * Changes url, events, description or status (`ifMatch`: the version the caller read; stale is
     * PreconditionFailedError `VERSION_MISMATCH`). A new URL is vetted as at registration. A change
     * to nothing writes nothing.
     */
    async update(p: Principal, tenant: string, id: string, input: UpdateWebhookInput, ifMatch?: string): Promise<Webhook> {
      await authorizeOn(p, tenant, true);
      await load(tenant, id);
      const events = assertUpdate(input);
      const url = input.url === undefined ? undefined : (await checkOutboundUrl(input.url, policy, deps.resolver)).url.toString();
      const now = deps.clock.now();
      const res = await repo.update(
        tenant,
        id,
        (current) => {
          const next = patched(current, input, url, events, now);
          return sameRecord(next, current) ? undefined : next;
        },
        ifMatch,
      );
      if (res === undefined) throw new NotFoundError('webhook', id);
      return toWebhook(res.record);
    },

    /**
     * A new signing secret, answered this once. The one it replaces keeps signing (beside it) for
     * `overlapHours` (default: the configured overlap; 0 ends it at once, e.g. after a leak).
     */
    async rotateSecret(p: Principal, tenant: string, id: string, options: { readonly overlapHours?: number } = {}): Promise<CreatedWebhook> {
      await authorizeOn(p, tenant, true);
      await load(tenant, id);
      const overlapMs = overlapMsOf(options.overlapHours);
      const secret = newSecret();
      const now = deps.clock.now();
      const res = await repo.update(tenant, id, (current) => {
        const { version: _v, previousSecret: _p, previousSecretExpiresAt: _e, ...rest } = current;
        return {
          ...rest,
          secret,
          secretRotatedAt: now.toISOString(),
          ...(overlapMs > 0 ? { previousSecret: current.secret, previousSecretExpiresAt: new Date(now.getTime() + overlapMs).toISOString() } : {}),
        };
      });
      if (res === undefined) throw new NotFoundError('webhook', id);
      return { webhook: toWebhook(res.record), secret };
    },

    /** Sends `webhook.ping` to the webhook (even while disabled); resolves its delivery (pending). */
    async ping(p: Principal, tenant: string, id: string): Promise<WebhookDelivery> {
      await authorizeOn(p, tenant, true);
      const hook = await load(tenant, id);
      const event = pingEvent(hook, deps.ids.next(), deps.clock.now());
      await deps.dispatcher.enqueue(event, hook);
      return toDelivery(await storedDelivery(tenant, id, deliveryIdOf(event.id, hook.id)));
    },

    /** One delivery of the webhook. */
    async delivery(p: Principal, tenant: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
      await authorizeOn(p, tenant, false);
      await load(tenant, id);
      return toDelivery(await storedDelivery(tenant, id, deliveryId));
    },

    /**
     * Sends a finished delivery again as a new delivery (same event, body and `webhook-id`). Refused
     * while it is still being tried (409 `DELIVERY_IN_PROGRESS`) or the webhook is disabled (409
     * `WEBHOOK_DISABLED`). Resolves the new delivery (pending).
     */
    async redeliver(p: Principal, tenant: string, id: string, deliveryId: string): Promise<WebhookDelivery> {
      await authorizeOn(p, tenant, true);
      const hook = await load(tenant, id);
      const original = await storedDelivery(tenant, id, deliveryId);
      if (original.status === 'pending' || original.status === 'retrying') {
        throw new ConflictError('DELIVERY_IN_PROGRESS', 'The delivery is still being tried; redeliver it once it succeeded or failed.', {
          details: { status: original.status, ...(original.nextAttemptAt === undefined ? {} : { nextAttemptAt: original.nextAttemptAt }) },
        });
      }
      if (hook.status === 'disabled') {
        throw new ConflictError('WEBHOOK_DISABLED', 'The webhook is disabled; re-enable it (PATCH status active) before redelivering.');
      }
      return toDelivery(await deps.dispatcher.redeliver(original, deps.ids.next()));
    },

    /** Recent deliveries to the webhook, newest first. */
    async deliveries(p: Principal, tenant: string, id: string, page: PageRequest): Promise<Page<WebhookDelivery>> {
      await authorizeOn(p, tenant, false);
      await load(tenant, id);
      const res = await deps.deliveries.list(id, page);
      const items = res.items.filter((d) => d.tenant === tenant).map(toDelivery);
      return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
    },
  };
}

function key(w: Webhook): string {
  return `${w.createdAt}|${w.id}`;
}
