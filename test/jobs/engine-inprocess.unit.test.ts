import { describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createInProcessJobEngine } from '../../src/jobs/in-process-engine.js';
import { engineContract } from '../contracts/engine.contract.js';
import { manualScheduler } from '../support/manual-scheduler.js';
import { fakeTime } from './engine-kit.js';
import { recordingLogger } from './helpers.js';

// The in-process engine's delays, redeliveries and clock run on a scheduler the contract moves:
// the same contract as BullMQ's, with its windows and waits in fake time instead of sleeps.
engineContract('in-process', async ({ random }) => {
  const logger = recordingLogger();
  const store = createMemoryOperationStore();
  const events = createMemoryOperationEvents({ logger });
  const scheduler = manualScheduler(Date.now());
  const engine = createInProcessJobEngine({ store, events, clock: scheduler, logger, random, transport: { handBackMs: 500, scheduler } });
  return { engine, store, events, logger, time: fakeTime(scheduler), close: () => engine.close() };
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
