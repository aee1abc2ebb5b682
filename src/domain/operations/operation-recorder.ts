import type { Logger } from './logger.js';
import { toOperation, type OperationRecord } from './operation.js';
import type { OperationEvents } from './operation-events.js';
import type { MutateResult, OperationChange, OperationStore } from './operation-store.js';

/**
 * Writes operation records and publishes every change (unless the store publishes its writes
 * itself). Publishing is best effort: a failed publish is logged and never undoes or fails the
 * write (the record is the source of truth).
 */
export interface OperationRecorder {
  create(record: OperationRecord): Promise<void>;
  mutate(id: string, change: OperationChange): Promise<MutateResult | undefined>;
  publish(record: OperationRecord): void;
}

export function createOperationRecorder(deps: {
  readonly store: OperationStore;
  readonly events: OperationEvents;
  readonly logger: Logger;
}): OperationRecorder {
  const { store, events, logger } = deps;

  function publish(record: OperationRecord): void {
    events.publish(toOperation(record)).catch((err: unknown) => {
      logger.warn({ err, operationId: record.id }, 'could not publish an operation update');
    });
  }

  return {
    publish,
    async create(record) {
      await store.create(record);
      if (store.publishesChanges !== true) publish(record);
    },
    async mutate(id, change) {
      const res = await store.mutate(id, change);
      if (res?.changed === true && store.publishesChanges !== true) publish(res.operation);
      return res;
    },
  };
}
