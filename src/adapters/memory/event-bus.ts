import type { Logger } from '../../domain/operations/logger.js';
import {
  matchesEventFilter,
  type OperationEventFilter,
  type OperationEvents,
  type OperationListener,
} from '../../domain/operations/operation-events.js';

export interface MemoryOperationEventsDeps {
  /** Where listener errors go; they never reach the publisher. */
  readonly logger?: Pick<Logger, 'error'>;
}

/**
 * In-process `OperationEvents`: one process only (the embedded default, tests). Delivers on a
 * microtask, like a network bus would deliver later, never inside `publish`.
 */
export function createMemoryOperationEvents(deps: MemoryOperationEventsDeps = {}): OperationEvents {
  const subs = new Set<{ filter: OperationEventFilter; listener: OperationListener }>();
  return {
    async publish(operation) {
      const copy = structuredClone(operation);
      for (const s of subs) {
        if (!matchesEventFilter(s.filter, copy)) continue;
        queueMicrotask(() => {
          if (!subs.has(s)) return;
          try {
            s.listener(copy);
          } catch (err) {
            deps.logger?.error({ err }, 'an operation listener threw');
          }
        });
      }
    },
    async subscribe(filter, listener) {
      const s = { filter, listener };
      subs.add(s);
      return { unsubscribe: () => void subs.delete(s) };
    },
  };
}
