import { describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createInProcessJobEngine } from '../../src/jobs/in-process-engine.js';
import { engineContract } from '../contracts/engine.contract.js';
import { recordingLogger } from './helpers.js';

engineContract('in-process', async ({ random }) => {
  const logger = recordingLogger();
  const store = createMemoryOperationStore();
  const events = createMemoryOperationEvents({ logger });
  const engine = createInProcessJobEngine({ store, events, clock: systemClock, logger, random, transport: { handBackMs: 500 } });
  return { engine, store, events, logger, close: () => engine.close() };
});

describe('in-process engine', () => {
  it('says loudly that jobs are not durable', async () => {
    const logger = recordingLogger();
    const engine = createInProcessJobEngine({
      store: createMemoryOperationStore(),
      events: createMemoryOperationEvents(),
      clock: systemClock,
      logger,
    });
    await engine.startWorker({ concurrency: 1 });
    await engine.close();
    expect(logger.entries.filter((e) => e.level === 'warn' && /NOT DURABLE/.test(e.msg ?? '')).length).toBeGreaterThanOrEqual(1);
  });
});
