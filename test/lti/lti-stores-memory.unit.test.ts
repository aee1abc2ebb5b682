import { createMemoryLaunchStateStore, createMemoryLtiSessionStore, createMemoryNonceLedger } from '../../src/adapters/memory/lti-stores.js';
import { ltiStoresContracts } from '../contracts/lti-stores.contract.js';

ltiStoresContracts('memory', async () => {
  let now = Date.parse('2026-12-06T12:00:00Z');
  const clock = { now: () => new Date(now) };
  return {
    states: createMemoryLaunchStateStore(clock),
    nonces: createMemoryNonceLedger(clock),
    sessions: createMemoryLtiSessionStore(clock),
    now: () => now,
    pass: async (ms) => {
      now += ms;
    },
    close: async () => undefined,
  };
});
