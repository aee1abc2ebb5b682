import { isTerminal, toOperation, type Operation, type OperationRecord } from '../operations/operation.js';
import type { OperationEvents } from '../operations/operation-events.js';
import type { OperationStore } from '../operations/operation-store.js';

/** Told of every operation update that reached a terminal status. Must not throw; called synchronously. */
export type TerminalOperationListener = (op: Operation) => void;

function tell(listener: TerminalOperationListener, op: Operation): void {
  if (!isTerminal(op.status)) return;
  try {
    listener(op);
  } catch {
    // A listener that throws must not fail the write or the publish it watches.
  }
}

/**
 * `events`, plus: every published update of a terminal operation is also handed to `onTerminal`
 * (webhooks enqueue their deliveries from it). Sees what the recorder publishes, i.e. every write
 * of a store that does not publish its own writes (see `tapOperationStore` for those).
 */
export function tapOperationEvents(events: OperationEvents, onTerminal: TerminalOperationListener): OperationEvents {
  return {
    publish(operation) {
      tell(onTerminal, operation);
      return events.publish(operation);
    },
    subscribe: (filter, listener) => events.subscribe(filter, listener),
  };
}

/**
 * `store`, plus: when the store publishes its own writes (`publishesChanges`, so the recorder never
 * calls `OperationEvents.publish`), every committed write that leaves an operation terminal is
 * handed to `onTerminal` (as the client view). A store that does not publish is returned as is:
 * `tapOperationEvents` sees its writes.
 */
export function tapOperationStore(store: OperationStore, onTerminal: TerminalOperationListener): OperationStore {
  if (store.publishesChanges !== true) return store;
  const seen = (record: OperationRecord): void => tell(onTerminal, toOperation(record));
  return {
    publishesChanges: true,
    async create(record) {
      await store.create(record);
      seen(record);
    },
    async mutate(id, change) {
      const res = await store.mutate(id, change);
      if (res?.changed === true) seen(res.operation);
      return res;
    },
    get: (id) => store.get(id),
    list: (filter, page, accept) => store.list(filter, page, accept),
    listChildren: (parentId) => store.listChildren(parentId),
    deleteExpired: (now) => store.deleteExpired(now),
    outbox: store.outbox,
  };
}
