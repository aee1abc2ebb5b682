import type { FastifyInstance } from 'fastify';
import type { DevTokenClaims } from '../../src/adapters/auth/dev-tokens.js';
import { buildAppFromDeps } from '../../src/main/app-from-deps.js';
import { loadConfig } from '../../src/main/config.js';
import { buildDeps, type Deps, type DepsOverrides } from '../../src/main/deps.js';
import { createLogger } from '../../src/main/logger.js';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly deps: Deps;
  /** A bearer header value for the given claims. */
  bearer(claims: DevTokenClaims): Promise<string>;
  close(): Promise<void>;
}

/** The embedded default stack (emulated Kubernetes + real adapter), listening on nothing. */
export async function startTestApp(env: Record<string, string> = {}, overrides: DepsOverrides = {}): Promise<TestApp> {
  const config = loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const deps = await buildDeps(config, createLogger(config), overrides);
  const app = await buildAppFromDeps(deps);
  await app.ready();
  if (config.embeddedWorker) {
    await deps.jobs.engine.startWorker({ concurrency: 4 });
    deps.background.start();
  }
  return {
    app,
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
