import type { FastifyInstance } from 'fastify';
import type { DevTokenClaims } from '../../src/adapters/auth/dev-tokens.js';
import { buildAppFromDeps } from '../../src/main/app-from-deps.js';
import { loadConfig } from '../../src/main/config.js';
import { buildDeps, type Deps, type DepsOverrides } from '../../src/main/deps.js';
import { createLogger } from '../../src/main/logger.js';

export interface TestApp {
  readonly app: FastifyInstance;
  /** Where the app listens (http://127.0.0.1:<port>). */
  readonly url: string;
  readonly deps: Deps;
  /** A bearer header value for the given claims. */
  bearer(claims: DevTokenClaims): Promise<string>;
  close(): Promise<void>;
}

/** The embedded default stack (emulated Kubernetes + real adapter), listening on nothing. */
export async function startTestApp(env: Record<string, string> = {}, overrides: DepsOverrides = {}): Promise<TestApp> {
  // Tests poll operations fast; the rate limit is tested on its own (test/api/rate-limit*.test.ts).
  // The leader Lease is renewed every 20 s, not every 2 s, so its PUTs seldom land inside a test's
  // count of the emulator's requests; the tests of leader election set their own timings.
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
    LEADER_LEASE_MS: '60000',
    LEADER_RENEW_MS: '40000',
    LEADER_RETRY_MS: '20000',
    ...env,
  });
  // The simulated Azure answers in a fraction of its default time (2 s to appear, 4 s to connect, 3 s per
  // extension install): an Arc lab's tests wait on that, not on what they test. Timings are tested in
  // test/azure/sim-azure.unit.test.ts; a test may still set its own.
  const simAzure = { appearAfterMs: 200, connectAfterMs: 500, extensionInstallMs: 400, ...overrides.simAzure };
  const deps = await buildDeps(config, createLogger(config), { ...overrides, simAzure });
  const app = await buildAppFromDeps(deps);
  await app.ready();
  // Listening once, on loopback: supertest reuses a server that listens (request(t.app.server)) instead
  // of binding and closing an ephemeral one per request, which cost about 0.45 ms of CPU per request.
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  if (config.embeddedWorker) {
    await deps.jobs.engine.startWorker({ concurrency: 4 });
    // Returns once this app leads, so the loops run and the Lease is written before the test starts.
    const leading = new Promise<void>((resolve) => {
      const off = deps.leadership.onChange((l) => {
        if (!l) return;
        off();
        resolve();
      });
    });
    deps.background.start();
    await leading;
  }
  return {
    app,
    url,
    deps,
    async bearer(claims) {
      if (deps.devTokens === undefined) throw new Error('dev mode is off');
      return `Bearer ${(await deps.devTokens.issue(claims)).accessToken}`;
    },
    async close() {
      await app.close();
      await deps.jobs.engine.stop({ graceMs: 0 });
      await deps.close();
    },
  };
}

let counter = 0;
/** A tenant id unique within the test run. */
export function uniqueTenantId(prefix = 't'): string {
  counter += 1;
  return `${prefix}-${process.pid.toString(36)}-${counter}`;
}
