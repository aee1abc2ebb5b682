import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { createLeaderElector } from '../adapters/kubernetes/leader-election.js';
import { createKubeLeaseLock } from '../adapters/kubernetes/lease-lock.js';
import { runWhileLeading, type LeaderElector, type LeaderLoop } from '../domain/shared/leadership.js';
import { createRecoveryLoop } from '../jobs/recovery-loop.js';
import type { Config } from './config.js';

export interface LeadershipDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly kubeConfig: KubeConfig;
  readonly metrics: Registry;
  /** `JobEngine.recover`. */
  readonly recover: () => Promise<number>;
  /** Loops that must run once in the deployment (lab schedules, housekeeping). */
  readonly loops: readonly LeaderLoop[];
}

export interface Leadership {
  readonly elector: LeaderElector;
  /** Campaigns on `start`; the loops and scheduled recovery run while this process leads; `stop` releases. */
  readonly background: LeaderLoop;
}

/** `POD_NAME` (or the host name) plus a random suffix, as client-go's callers build it: a restarted pod is a new holder. */
export function holderIdentity(podName: string | undefined): string {
  return `${podName ?? hostname()}_${randomUUID()}`;
}

/**
 * The one-per-deployment loops behind a Lease election (`labplane-loops` in the control namespace):
 * the same code path against a real cluster and the simulated one.
 */
export function buildLeadership(deps: LeadershipDeps): Leadership {
  const { config } = deps;
  const namespace = config.controlNamespace;
  const log = deps.logger.child({ component: 'leader-election' });
  const { leaseName, leaseMs, renewMs, retryMs } = config.leader;
  const elector = createLeaderElector({
    lock: createKubeLeaseLock({
      kubeConfig: deps.kubeConfig,
      namespace,
      name: leaseName,
      timeoutMs: Math.min(config.kubeTimeoutMs, renewMs),
      labels: { 'app.kubernetes.io/part-of': 'labplane' },
    }),
    identity: holderIdentity(config.leader.podName),
    leaseDurationMs: leaseMs,
    renewDeadlineMs: renewMs,
    retryPeriodMs: retryMs,
    logger: log,
  });
  new Gauge({
    name: 'labplane_leader',
    help: 'Whether this process leads (1) and so runs the lab schedules, housekeeping and job recovery, or not (0).',
    labelNames: ['identity', 'lease'],
    registers: [deps.metrics],
    collect() {
      this.set({ identity: elector.identity, lease: `${namespace}/${leaseName}` }, elector.isLeader() ? 1 : 0);
    },
  });
  const recovery = createRecoveryLoop({
    recover: deps.recover,
    intervalMs: config.recoveryIntervalMs,
    logger: deps.logger.child({ component: 'jobs' }),
  });
  return { elector, background: runWhileLeading(elector, [...deps.loops, recovery], log) };
}
