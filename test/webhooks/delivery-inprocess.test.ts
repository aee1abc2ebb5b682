import { createInProcessDeliveryQueue } from '../../src/adapters/memory/delivery-queue.js';
import { createMemoryDeliveryStore } from '../../src/adapters/memory/webhook-deliveries.js';
import { deliveryContract } from '../contracts/delivery.contract.js';

const silent = { warn: () => undefined, error: () => undefined };

deliveryContract('in-process queue, memory records', async () => {
  const queue = createInProcessDeliveryQueue({ logger: silent });
  return { store: createMemoryDeliveryStore(), queue, close: () => queue.close() };
});
