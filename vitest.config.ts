import { defineConfig } from 'vitest/config';
import SlowFirstSequencer from './test/support/slow-first-sequencer.js';

// The suite runs by slices (vitest projects), chosen by where a test file is and how it is named:
//   unit       *.unit.test.ts   pure: no Redis, no server, no socket, no child process (a setup
//              and test/unit/   file refuses them), so it runs anywhere in seconds
//   redis      *.redis.test.ts  needs Redis (REDIS_URL or 127.0.0.1:6379)
//   browser    test/browser/    drives chromium
//   component  every other *.test.ts: the app, the simulated cluster, servers, child processes
// `vitest run --project unit` (npm run test:unit) runs one slice; `vitest run` runs them all.
// The unit slice runs on worker threads that keep loaded modules from one file to the next
// (isolate: false): importing is most of its cost, and pure tests share no state worth a fresh
// process (measured under load: 18 s CPU with isolated forks, 13 s like this).
// The component slice keeps its forks (child processes, signals, real servers) but reuses each fork
// from one file to the next (isolate: false) for the same reason: every file imports the whole app
// (fastify, mercurius, BullMQ, the Kubernetes client), which cost 1.7 s of CPU per file in CI. Its
// files share no module state that matters: no vi.mock, no environment writes, fake timers only in
// the unit slice; apps, registries and emulators are built per file. Measured under load (CPU time,
// user+sys): test/vms 45 s -> 31 s, test/images with test/tenants 21 s -> 17 s. The redis slice
// likewise (its files use prefixes and queues of their own): 42 s -> 27 s CPU, 64 s -> 46 s wall.
const UNIT = ['{test,src}/**/*.unit.test.ts', 'test/unit/**/*.test.ts', 'clients/typescript/test/**/*.unit.test.ts'];
const REDIS = '{test,src}/**/*.redis.test.ts';
const BROWSER = 'test/browser/**/*.test.ts';
const ALL = '{test,src}/**/*.test.ts';
// The typed client and the CLI (clients/typescript) against the embedded default, the CLI as a child process.
const CLIENT = 'clients/typescript/test/**/*.test.ts';

const WORKERS = Number(process.env['TEST_WORKERS'] ?? 4);

export default defineConfig({
  test: {
    environment: 'node',
    testTimeout: 20_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Four workers on two cores: the component files mostly wait (emulated delays, child processes,
    // sockets), each fork using about half a core, so two workers left the machine half idle.
    // Measured on 2 cores, the whole suite without the browser files: 2 workers 482 s, 4 workers 368 s,
    // nothing failing. TEST_WORKERS overrides it (1 to debug a file alone).
    maxWorkers: WORKERS,
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Transformed modules are kept on disk (node_modules/.experimental-vitest-cache, keyed by each file's
    // content and the Vite configuration) and reused by the next run and by the other projects of the
    // same run: a developer's second `npm run test:unit` skips the TypeScript transform (measured:
    // 10.3 s -> 8.3 s of vitest duration, transform 6.5 s -> 1.3 s). No plugin here transforms from
    // anything but the file itself, which is what this cache needs to stay correct.
    experimental: { fsModuleCache: true },
    sequence: { sequencer: SlowFirstSequencer },
    projects: [
      {
        extends: true,
        // The unit slice computes, never waits: one thread per core (four were slower, each importing the modules again).
        test: {
          name: 'unit',
          include: UNIT,
          setupFiles: ['./test/support/unit-guard.ts'],
          isolate: false,
          pool: 'threads',
          maxWorkers: Math.min(WORKERS, 2),
          // Projects with their own worker count run as a group of their own (vitest requires it): after the rest.
          sequence: { groupOrder: 1 },
        },
      },
      { extends: true, test: { name: 'redis', include: [REDIS], isolate: false, testTimeout: 60_000 } },
      // A browser renders on the same two cores as the other workers: steps take seconds. The default
      // expect.poll limit (1 s) is for in-process state; a page's text is polled for up to 10 s.
      // Its forks keep loaded modules from one file to the next like the component slice's (each file
      // launches its own chromium and app; nothing else is shared).
      {
        extends: true,
        test: { name: 'browser', include: [BROWSER], isolate: false, testTimeout: 60_000, expect: { poll: { timeout: 10_000 } } },
      },
      // Each file starts the app in its hook; on a loaded machine with a cold transform cache that took
      // over 30 s, hence a hook limit above the default.
      {
        extends: true,
        test: {
          name: 'client',
          include: [CLIENT],
          exclude: [...UNIT, '**/node_modules/**'],
          isolate: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      // Component (and Redis) tests wait on processes and emulators with budgets of their own (settle, until), which
      // name what they waited for; their limit is above those so a loaded machine fails on the wait
      // that explains itself rather than on a bare "timed out in 20000ms" (seen in CI on a 120 s settle).
      {
        extends: true,
        test: {
          name: 'component',
          include: [ALL],
          exclude: [...UNIT, REDIS, BROWSER, '**/node_modules/**'],
          isolate: false,
          testTimeout: 60_000,
        },
      },
    ],
  },
});
