import { createMemoryDeliveryStore } from '../../src/adapters/memory/webhook-deliveries.js';
import { createTransportDeliveryQueue } from '../../src/jobs/delivery-transport.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { deliveryContract } from '../contracts/delivery.contract.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

deliveryContract('in-process transport, memory records', async () => {
  const queue = createTransportDeliveryQueue({ transport: createInProcessTransport({ logger: silent, redeliveryDelayMs: 20 }), logger: silent });
  return { store: createMemoryDeliveryStore(), queue, close: () => queue.close() };
});
