import { buildAppFromDeps } from './app-from-deps.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { buildDeps } from './deps.js';
import { createLogger } from './logger.js';

function fail(message: string): never {
  process.stderr.write(`labplane: ${message}\n`);
  process.exit(2);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`configuration error: ${err.message}`);
  throw err;
}

const logger = createLogger(config);
const deps = await buildDeps(config, logger).catch((err: unknown) => {
  fail(`could not start: ${err instanceof Error ? err.message : String(err)}`);
});
const app = await buildAppFromDeps(deps);
if (config.embeddedWorker) {
  await deps.jobs.engine.startWorker({ concurrency: config.workerConcurrency });
  deps.background.start();
}

const address = await app.listen({ host: config.host, port: config.port }).catch((err: unknown) => {
  fail(`could not listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`);
});
const base = config.publicUrl ?? address;
const lines = [
  `labplane is listening on ${base}`,
  `  REST API      ${base}/v1   (contract: ${base}/openapi.json)`,
  `  API docs      ${base}/docs`,
  `  GraphQL       ${base}/graphql${config.devMode ? `   (GraphiQL: ${base}/graphiql)` : ''}`,
  `  Health        ${base}/healthz  ${base}/readyz  ${base}/metrics`,
];
if (config.devMode) {
  lines.push(
    `  Queues        ${base}/admin/queues (platform admins; needs REDIS_URL)`,
    `  Dev token     curl -s -X POST ${base}/dev/token -H 'content-type: application/json' -d '{"sub":"alice","roles":["platform-admin"]}'`,
    `  Mode          embedded default: simulated Kubernetes and Azure, ${config.redisUrl === undefined ? 'in-process jobs (NOT durable: set REDIS_URL for BullMQ)' : 'jobs on BullMQ'}`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down: draining HTTP, then closing adapters');
  const timer = setTimeout(() => {
    logger.error('grace period over; exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 5000);
  timer.unref();
  try {
    await app.close();
    if (config.embeddedWorker) {
      await deps.background.stop();
      await deps.jobs.engine.stop({ graceMs: config.shutdownGraceMs });
    }
    await deps.close();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
