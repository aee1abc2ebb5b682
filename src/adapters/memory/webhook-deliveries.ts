import { pageByKey } from '../../domain/shared/page.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import {
  DELIVERIES_PER_WEBHOOK,
  DELIVERY_RETENTION_MS,
  deliveryListKey,
  type DeliveryStore,
  type StoredDelivery,
} from '../../domain/webhooks/delivery.js';

export interface MemoryDeliveryStoreDeps {
  readonly clock?: Clock;
  /** Default `DELIVERIES_PER_WEBHOOK`. */
  readonly perWebhook?: number;
  /** Default `DELIVERY_RETENTION_MS`. */
  readonly retentionMs?: number;
}

/** In-process `DeliveryStore` (the embedded default without Redis, tests): same limits as the Redis one. */
export function createMemoryDeliveryStore(deps: MemoryDeliveryStoreDeps = {}): DeliveryStore {
  const clock = deps.clock ?? systemClock;
  const perWebhook = deps.perWebhook ?? DELIVERIES_PER_WEBHOOK;
  const retentionMs = deps.retentionMs ?? DELIVERY_RETENTION_MS;
  const records = new Map<string, StoredDelivery>();
  const byWebhook = new Map<string, Set<string>>();

  const expired = (d: StoredDelivery): boolean => Date.parse(d.createdAt) < clock.now().getTime() - retentionMs;

  function drop(id: string): void {
    const d = records.get(id);
    if (d === undefined) return;
    records.delete(id);
    byWebhook.get(d.webhookId)?.delete(id);
  }

  /** Newest first, expired ones dropped. */
  function sortedOf(webhookId: string): StoredDelivery[] {
    const ids = [...(byWebhook.get(webhookId) ?? [])];
    for (const id of ids) {
      const d = records.get(id);
      if (d !== undefined && expired(d)) drop(id);
    }
    return [...(byWebhook.get(webhookId) ?? [])]
      .flatMap((id) => records.get(id) ?? [])
      .sort((a, b) => (deliveryListKey(a) < deliveryListKey(b) ? -1 : 1));
  }

  return {
    async create(d) {
      const held = records.get(d.id);
      if (held !== undefined && !expired(held)) return false;
      records.set(d.id, structuredClone(d));
      byWebhook.set(d.webhookId, (byWebhook.get(d.webhookId) ?? new Set()).add(d.id));
      for (const old of sortedOf(d.webhookId).slice(perWebhook)) drop(old.id);
      return records.has(d.id);
    },
    async get(id) {
      const d = records.get(id);
      if (d === undefined || expired(d)) return undefined;
      return structuredClone(d);
    },
    async update(d) {
      if (records.has(d.id)) records.set(d.id, structuredClone(d));
    },
    async list(webhookId, page) {
      return pageByKey(sortedOf(webhookId), deliveryListKey, page);
    },
    async deleteFor(webhookId) {
      for (const id of [...(byWebhook.get(webhookId) ?? [])]) drop(id);
      byWebhook.delete(webhookId);
    },
  };
}
