import { ConfigError, loadConfig, type Config } from './config.js';
import { buildDeps } from './deps.js';
import { createLogger } from './logger.js';

function fail(message: string): never {
  process.stderr.write(`labplane worker: ${message}\n`);
  process.exit(2);
}

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) fail(`configuration error: ${err.message}`);
  throw err;
}
if (config.redisUrl === undefined) {
  fail('configuration error: REDIS_URL: expected a redis:// URL; a separate worker shares jobs with the API through Redis (the embedded default runs jobs inside `npm start`)');
}
if (config.kube.mode === 'simulated') {
  fail('configuration error: KUBECONFIG: expected a kubeconfig or in-cluster credentials; the simulated cluster lives inside the API process, so run `npm start` alone');
}

const logger = createLogger(config).child({ process: 'worker' });
const deps = await buildDeps(config, logger).catch((err: unknown) => {
  fail(`could not start: ${err instanceof Error ? err.message : String(err)}`);
});
await deps.jobs.engine.startWorker({ concurrency: config.workerConcurrency });
deps.background.start();
logger.info({ concurrency: config.workerConcurrency, backend: deps.jobs.engine.backend }, 'worker started');

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceMs: config.shutdownGraceMs }, 'stopping: no new jobs, finishing or handing back the current ones');
  const timer = setTimeout(() => process.exit(1), config.shutdownGraceMs + 10_000);
  timer.unref();
  try {
    // Loops first, releasing the leader Lease: another replica takes them over at once.
    await deps.background.stop();
    await deps.jobs.engine.stop({ graceMs: config.shutdownGraceMs });
    await deps.close();
  } finally {
    process.exit(0);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
