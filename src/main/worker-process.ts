import type { DepsOverrides } from './deps.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { preflight, stopOnSignals } from './startup.js';

/**
 * The worker process (`npm run worker`): checks its dependencies, builds the service, runs job
 * workers and the leader's loops until SIGTERM. `overrides` are for the fault tests' entry script
 * (test/support/worker-main.ts), which points the real adapters at local stand-ins.
 */
export async function runWorker(overrides: DepsOverrides = {}): Promise<void> {
  const config = loadConfig();
  if (config.redisUrl === undefined) {
    throw new ConfigError(
      'REDIS_URL',
      'a redis:// URL; a separate worker shares jobs with the API through Redis (the embedded default runs jobs inside `npm start`)',
    );
  }
  if (config.kube.mode === 'simulated') {
    throw new ConfigError(
      'KUBECONFIG',
      'a kubeconfig or in-cluster credentials; the simulated cluster lives inside the API process, so run `npm start` alone',
    );
  }

  const logger = createLogger(config).child({ process: 'worker' });
  await preflight(config, logger);
  // Loaded only now: a start that fails its checks says so in a fraction of the time.
  const { buildDeps } = await import('./deps.js');
  const deps = await buildDeps(config, logger, overrides);
  await deps.jobs.engine.startWorker({ concurrency: config.workerConcurrency });
  deps.background.start();
  logger.info({ concurrency: config.workerConcurrency, backend: deps.jobs.engine.backend }, 'worker started');

  stopOnSignals(logger, config.shutdownGraceMs, 'stopping: no new jobs, finishing or handing back the current ones', async () => {
    // Loops first, releasing the leader Lease: another replica takes them over at once.
    await deps.background.stop();
    await deps.jobs.engine.stop({ graceMs: config.shutdownGraceMs });
    await deps.close();
  });
}
