import { authorize, canSeeTenant } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { checkOutboundUrl, type HostResolver } from '../net/index.js';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../shared/errors.js';
import type { Clock, IdGenerator } from '../shared/ids.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { toDelivery, type DeliveryStore, type WebhookDelivery } from './delivery.js';
import { webhookOutboundPolicy, type WebhookUrlPolicy } from './delivery-processor.js';
import { newWebhookSecret } from './signing.js';
import {
  canonicalEvents,
  isWebhookEventType,
  MAX_WEBHOOK_DESCRIPTION_LENGTH,
  MAX_WEBHOOK_URL_LENGTH,
  MAX_WEBHOOKS_PER_TENANT,
  toWebhook,
  type Webhook,
  type WebhookEventType,
} from './webhook.js';
import type { WebhookRepository } from './webhook-repository.js';
import { keyedSerializer } from '../shared/serialized.js';
import type { Precondition } from '../shared/precondition.js';

export interface CreateWebhookInput {
  readonly url: string;
  readonly events: readonly string[];
  readonly description?: string;
}

/** A new webhook and its signing secret: the only time the secret is handed out. */
export interface CreatedWebhook {
  readonly webhook: Webhook;
  readonly secret: string;
}

export interface WebhookServiceDeps {
  readonly repo: WebhookRepository;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly deliveries: Pick<DeliveryStore, 'list' | 'deleteFor'>;
  readonly resolver: HostResolver;
  readonly policy: WebhookUrlPolicy;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  /** Default `newWebhookSecret`. */
  readonly newSecret?: () => string;
}

export type WebhookService = ReturnType<typeof createWebhookService>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertInput(input: CreateWebhookInput): WebhookEventType[] {
  const issues: FieldIssue[] = [];
  if (typeof input.url !== 'string' || input.url.length === 0 || input.url.length > MAX_WEBHOOK_URL_LENGTH) {
    issues.push({ field: '/url', message: `1-${MAX_WEBHOOK_URL_LENGTH} characters` });
  }
  const events = Array.isArray(input.events) ? input.events : [];
  if (events.length === 0) issues.push({ field: '/events', message: 'at least one event type' });
  const unknown = events.filter((e) => !isWebhookEventType(e));
  if (unknown.length > 0) issues.push({ field: '/events', message: `unknown event type(s): ${unknown.slice(0, 5).join(', ').slice(0, 200)}` });
  if (new Set(events).size !== events.length) issues.push({ field: '/events', message: 'duplicate event types' });
  if (input.description !== undefined && input.description.length > MAX_WEBHOOK_DESCRIPTION_LENGTH) {
    issues.push({ field: '/description', message: `at most ${MAX_WEBHOOK_DESCRIPTION_LENGTH} characters` });
  }
  if (issues.length > 0) throw new ValidationError('The webhook is not valid.', issues);
  return canonicalEvents(events.filter(isWebhookEventType));
}

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
        const webhook: Webhook = {
          id: deps.ids.next(),
          tenant,
          url: vetted.url.toString(),
          events,
          ...(input.description === undefined || input.description === '' ? {} : { description: input.description }),
          createdAt: deps.clock.now().toISOString(),
          createdBy: p.id,
        };
        await repo.create({ ...webhook, secret });
        return { webhook, secret };
      });
    },

    /** Deletes the webhook and its delivery records; queued deliveries to it are dropped. */
    async delete(p: Principal, tenant: string, id: string, precondition?: Precondition<Webhook>): Promise<void> {
      await authorizeOn(p, tenant, true);
      precondition?.(await load(tenant, id));
      if (!(await repo.delete(tenant, id))) throw new NotFoundError('webhook', id);
      await deps.deliveries.deleteFor(id);
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
