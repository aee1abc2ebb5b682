import type { OperationStore } from '../domain/operations/operation-store.js';
import { toOperation } from '../domain/operations/operation.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import type { WebhookDispatcher } from '../domain/webhooks/dispatcher.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** Default time the fast path has to mark an outbox entry done before the drain takes it, ms. */
export const DEFAULT_OUTBOX_GRACE_MS = 10_000;

export interface WebhookOutboxDrainDeps {
  readonly operations: Pick<OperationStore, 'get' | 'outbox'>;
  readonly dispatcher: Pick<WebhookDispatcher, 'publish'>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Entries younger than this (ms) are left to the fast path (the process that finished the operation). */
  readonly graceMs: number;
  /** Between passes, ms. */
  readonly intervalMs: number;
  /** Entries read at once (default 100). */
  readonly batch?: number;
}

function errorFacts(err: unknown): Record<string, unknown> {
  return err instanceof Error ? { error: err.name, message: err.message.slice(0, 300) } : { error: typeof err };
}

/**
 * Publishes the webhook events of finished operations whose outbox entry stayed pending past the
 * grace period: the process that finished them died (or its publish failed) between the terminal
 * write and recording the deliveries. Publishing is idempotent (delivery ids derive from the event
 * id and the webhook id; the delivery store and the queue dedupe them), so an entry the fast path
 * handles late is at worst published twice and delivered once. An entry whose operation is gone
 * (expired with its entry in between) is dropped. A failing publish ends the pass: the entry and
 * those after it stay pending for the next one. Meant to run on the leader.
 */
export function createWebhookOutboxDrain(deps: WebhookOutboxDrainDeps): PeriodicLoop {
  const { operations, dispatcher, clock, logger, graceMs } = deps;
  const batch = deps.batch ?? 100;

  async function pass(): Promise<void> {
    const before = new Date(clock.now().getTime() - graceMs);
    let published = 0;
    try {
      for (;;) {
        const ids = await operations.outbox.pending(before, batch);
        const handled: string[] = [];
        try {
          for (const id of ids) {
            const record = await operations.get(id);
            if (record !== undefined) {
              await dispatcher.publish(toOperation(record));
              published += 1;
            }
            handled.push(id);
          }
        } finally {
          if (handled.length > 0) await operations.outbox.done(handled);
        }
        if (ids.length < batch) break;
      }
    } catch (err) {
      logger.warn(errorFacts(err), 'webhook outbox pass failed; retrying next interval');
    }
    if (published > 0) logger.info({ operations: published }, 'published the webhook events of finished operations the finishing process did not');
  }

  return createPeriodicLoop(pass, deps.intervalMs);
}
