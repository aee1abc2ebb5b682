import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryIdempotencyStore } from '../../src/adapters/memory/idempotency-store.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { idempotencyStoreContract } from '../contracts/idempotency-store.contract.js';
import { operationEventsContract } from '../contracts/operation-events.contract.js';
import { operationStoreContract } from '../contracts/operation-store.contract.js';

operationStoreContract('memory', async ({ retentionMs }) => ({
  store: createMemoryOperationStore({ retentionMs }),
  close: async () => undefined,
}));

idempotencyStoreContract('memory', async ({ inProgressTtlMs }) => ({
  store: createMemoryIdempotencyStore({ inProgressTtlMs }),
  close: async () => undefined,
}));

operationEventsContract('memory', async () => {
  const bus = createMemoryOperationEvents();
  return { a: bus, b: bus, close: async () => undefined };
});
