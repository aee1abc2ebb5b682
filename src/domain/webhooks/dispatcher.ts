import type { Operation } from '../operations/operation.js';
import type { Clock } from '../shared/ids.js';
import { deliveryIdOf, type DeliveryQueue, type DeliveryStore, type StoredDelivery } from './delivery.js';
import { webhookEventsOf, webhookPayload, type WebhookEvent } from './events.js';
import type { Webhook } from './webhook.js';
import type { WebhookRepository } from './webhook-repository.js';

export interface WebhookDispatcherDeps {
  readonly repo: Pick<WebhookRepository, 'list'>;
  readonly store: DeliveryStore;
  readonly queue: Pick<DeliveryQueue, 'enqueue'>;
  readonly clock: Clock;
}

/** Turns operation updates into queued deliveries. */
export interface WebhookDispatcher {
  /**
   * Enqueues one delivery per (event of `op`, webhook of its tenant subscribed to the event's
   * type); resolves to how many. Idempotent: the same operation published again adds nothing.
   */
  publish(op: Operation): Promise<number>;
  /**
   * Enqueues one delivery of an event that is not an operation's (the idle detector's warnings) per
   * webhook of its tenant subscribed to its type; resolves to how many. Idempotent by event id: the
   * same event published again (a pass run twice) adds nothing.
   */
  publishEvent(event: WebhookEvent): Promise<number>;
  /**
   * Records the delivery of `event` to `webhook` (pending, with its body) unless it exists, then
   * enqueues its job (the queue dedupes on the delivery id). Resolves true when the record is new.
   */
  enqueue(event: WebhookEvent, webhook: Pick<Webhook, 'id' | 'tenant'>): Promise<boolean>;
  /**
   * Records and enqueues a new delivery `id` sending `original` again: the same event id (so the same
   * `webhook-id` header) and the very same body. Resolves the new record.
   */
  redeliver(original: StoredDelivery, id: string): Promise<StoredDelivery>;
}

export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { store, queue, clock } = deps;

  async function enqueue(event: WebhookEvent, webhook: Pick<Webhook, 'id' | 'tenant'>): Promise<boolean> {
    const deliveryId = deliveryIdOf(event.id, webhook.id);
    const record: StoredDelivery = {
      id: deliveryId,
      tenant: webhook.tenant,
      webhookId: webhook.id,
      eventId: event.id,
      eventType: event.type,
      status: 'pending',
      attempts: 0,
      createdAt: clock.now().toISOString(),
      payload: webhookPayload(event),
    };
    const created = await store.create(record);
    // Enqueued even when the record existed: a crash between the two writes must not lose the job.
    await queue.enqueue({ deliveryId, attempt: 0 });
    return created;
  }

  /** Enqueues each event to the active webhooks of `tenant` subscribed to its type (a disabled one gets nothing). */
  async function toSubscribers(tenant: string, events: readonly WebhookEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const hooks = (await deps.repo.list(tenant)).filter((h) => h.status !== 'disabled');
    let n = 0;
    for (const event of events) {
      for (const hook of hooks) {
        if (!(hook.events as readonly string[]).includes(event.type)) continue;
        await enqueue(event, hook);
        n += 1;
      }
    }
    return n;
  }

  async function redeliver(original: StoredDelivery, id: string): Promise<StoredDelivery> {
    const record: StoredDelivery = {
      id,
      tenant: original.tenant,
      webhookId: original.webhookId,
      eventId: original.eventId,
      eventType: original.eventType,
      redeliveryOf: original.id,
      status: 'pending',
      attempts: 0,
      createdAt: clock.now().toISOString(),
      payload: original.payload,
    };
    await store.create(record);
    await queue.enqueue({ deliveryId: id, attempt: 0 });
    return record;
  }

  return {
    enqueue,
    redeliver,
    publish: async (op) => (op.tenant === undefined ? 0 : toSubscribers(op.tenant, webhookEventsOf(op))),
    publishEvent: (event) => toSubscribers(event.tenant, [event]),
  };
}
