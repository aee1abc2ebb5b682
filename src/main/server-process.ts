import type { DepsOverrides } from './deps.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { preflight, stopOnSignals } from './startup.js';

/**
 * The API process (`npm start`): checks its dependencies, builds the service and listens until
 * SIGTERM. `overrides` are for the fault tests' entry script (test/support/service-main.ts).
 */
export async function runServer(overrides: DepsOverrides = {}): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  await preflight(config, logger);
  // Loaded only now: a start that fails its checks says so in a fraction of the time.
  const { buildDeps } = await import('./deps.js');
  const deps = await buildDeps(config, logger, overrides);
  const { buildAppFromDeps } = await import('./app-from-deps.js');
  const app = await buildAppFromDeps(deps);
  if (config.embeddedWorker) {
    await deps.jobs.engine.startWorker({ concurrency: config.workerConcurrency });
    deps.background.start();
  }

  const address = await app.listen({ host: config.host, port: config.port }).catch((err: unknown) => {
    throw new Error(`could not listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`);
  });
  const base = config.publicUrl ?? address;
  const lines = [
    `labplane is listening on ${base}`,
    `  REST API      ${base}/v1   (contract: ${base}/openapi.json)`,
    `  API docs      ${base}/docs`,
    `  GraphQL       ${base}/graphql${config.devMode ? `   (GraphiQL: ${base}/graphiql)` : ''}`,
    `  Health        ${base}/healthz  ${base}/readyz  ${base}/metrics`,
    `  LTI 1.3 tool  login ${base}/lti/login  launch ${base}/lti/launch  keys ${base}/lti/jwks`,
  ];
  if (deps.world.lms.simLms !== undefined) {
    lines.push(`  Simulated LMS ${base}/sim/lms   (courses with instructor and student launches; see README "Try LTI")`);
  }
  if (config.devMode) {
    lines.push(
      `  Queues        ${base}/admin/queues (platform admins; needs REDIS_URL)`,
      `  Dev token     curl -s -X POST ${base}/dev/token -H 'content-type: application/json' -d '{"sub":"alice","roles":["platform-admin"]}'`,
      `  Mode          embedded default: simulated Kubernetes and Azure, ${config.redisUrl === undefined ? 'in-process jobs (NOT durable: set REDIS_URL for BullMQ)' : 'jobs on BullMQ'}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  stopOnSignals(logger, config.shutdownGraceMs, 'shutting down: draining HTTP, then closing adapters', async () => {
    await app.close();
    if (config.embeddedWorker) {
      // Loops first, releasing the leader Lease: another replica takes them over at once.
      await deps.background.stop();
      await deps.jobs.engine.stop({ graceMs: config.shutdownGraceMs });
    }
    await deps.close();
  });
}
