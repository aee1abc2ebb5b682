import type { Logger } from 'pino';
import { crdHint } from '../adapters/kubernetes/errors.js';
import { createKubeClient } from '../adapters/kubernetes/kube-client.js';
import { KubePreflightError, probeKubernetes } from '../adapters/kubernetes/preflight.js';
import { probeRedis, RedisProbeError } from '../adapters/redis/redis-probe.js';
import { ConfigError, type Config } from './config.js';
import { realClusterConfig } from './simulated.js';
import { activeTelemetry } from './telemetry.js';

/** Longest start-up (probes, informer syncs, listening) before the process gives up with exit code 1. */
export const STARTUP_TIMEOUT_MS = 120_000;
/** Bound of the Redis probe at start-up. */
export const REDIS_PROBE_TIMEOUT_MS = 5_000;

/** The one line that says why start-up failed: what failed and what to do, without credentials. */
export function startupFailureLine(err: unknown): string {
  let line: string;
  if (err instanceof ConfigError) line = `configuration error: ${err.message}`;
  else if (err instanceof KubePreflightError || err instanceof RedisProbeError) line = err.message;
  else line = `could not start: ${err instanceof Error ? err.message : String(err)}`;
  return line.replace(/\s*\n\s*/g, ' ').replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/:@\s]*):[^@\s]*@/gi, '$1@');
}

/**
 * Checks the dependencies a real deployment cannot do without, before building anything: Redis
 * answers, and the Kubernetes API server answers, accepts our credentials and lets us list what we
 * watch. Throws (one line, see {@link startupFailureLine}) when not; a missing CRD is only logged:
 * the process starts NOT ready and becomes ready once it is installed.
 */
export async function preflight(config: Config, logger: Logger): Promise<void> {
  if (config.redisUrl !== undefined) await probeRedis(config.redisUrl, REDIS_PROBE_TIMEOUT_MS);
  if (config.kube.mode === 'simulated') return;
  const client = createKubeClient({
    kubeConfig: realClusterConfig(config.kube),
    logger: logger.child({ component: 'kubernetes-preflight' }),
    timeoutMs: config.kubeTimeoutMs,
  });
  const { missingCrds } = await probeKubernetes(client, config.kubeTimeoutMs);
  if (missingCrds.length > 0) {
    const hints = missingCrds.map((crd) => `${crd} (${crdHint(crd)})`).join('; ');
    logger.warn(
      { crds: missingCrds },
      `starting NOT ready: the Kubernetes API server does not serve ${hints}; /readyz answers 503 and requests that need them 503 CRD_NOT_INSTALLED until they are installed`,
    );
  }
}

/**
 * Runs an entry point's start-up: on any failure, prints `<prefix>: <one line>` on stderr and exits
 * with code 1. A referenced deadline timer both bounds start-up and keeps Node from exiting while a
 * step waits on unreferenced timers only (what top-level await reported as "unsettled").
 */
export function runStartup(prefix: string, start: () => Promise<void>): void {
  const die = (line: string): never => {
    process.stderr.write(`${prefix}: ${line}\n`);
    process.exit(1);
  };
  const deadline = setTimeout(
    () => die(`start-up did not finish within ${STARTUP_TIMEOUT_MS / 1000} s: check the Kubernetes API server and Redis`),
    STARTUP_TIMEOUT_MS,
  );
  start().then(
    () => clearTimeout(deadline),
    (err: unknown) => die(startupFailureLine(err)),
  );
}

/**
 * On SIGTERM or SIGINT (once): logs `message`, runs `stop` and exits 0; exits 1 if `stop` is still
 * running `graceMs` plus a margin later.
 */
export function stopOnSignals(logger: Logger, graceMs: number, message: string, stop: () => Promise<void>): void {
  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs }, message);
    const timer = setTimeout(() => {
      logger.error('grace period over; exiting');
      process.exit(1);
    }, graceMs + 10_000);
    timer.unref();
    try {
      await stop();
      // The spans of the last requests and steps, before the process goes.
      await activeTelemetry()
        ?.shutdown()
        .catch((err: unknown) => logger.warn({ err }, 'exporting the last spans failed'));
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
