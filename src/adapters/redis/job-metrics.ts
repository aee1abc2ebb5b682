import { Gauge, Histogram, type Registry } from 'prom-client';
import type { JobMetricsSource, QueueCounts } from '../../domain/operations/job-queue.js';
import type { Logger } from '../../domain/operations/logger.js';

export interface JobMetricsOptions {
  /** Metric name prefix (default 'labplane_'). */
  readonly prefix?: string;
  /** Histogram buckets in seconds. */
  readonly buckets?: readonly number[];
  readonly logger?: Pick<Logger, 'warn'>;
}

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Registers job metrics of any engine (BullMQ or in-process) on `registry` (never the global one):
 * `<prefix>jobs{queue,state}` gauge read from the queue on every scrape, and
 * `<prefix>job_step_duration_seconds{kind,outcome}` histogram of step runs (handler time included).
 * Returns a function that stops observing (the metrics stay registered).
 */
export function registerJobMetrics(registry: Registry, source: JobMetricsSource, options: JobMetricsOptions = {}): () => void {
  const prefix = options.prefix ?? 'labplane_';
  new Gauge({
    name: `${prefix}jobs`,
    help: 'Jobs per queue and state (waiting, active, delayed, failed, completed), read at scrape time.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      let counts: readonly QueueCounts[];
      try {
        counts = await source.counts();
      } catch (err) {
        options.logger?.warn({ err }, 'reading job counts for metrics failed');
        return;
      }
      this.reset();
      for (const c of counts) for (const s of STATES) this.set({ queue: c.queue, state: s }, c[s]);
    },
  });
  const duration = new Histogram({
    name: `${prefix}job_step_duration_seconds`,
    help: 'Duration of one run of a job step, from pickup to acknowledgement, by kind and outcome.',
    labelNames: ['kind', 'outcome'],
    buckets: [...(options.buckets ?? [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])],
    registers: [registry],
  });
  return source.onStepFinished((o) => duration.observe({ kind: o.kind, outcome: o.outcome }, o.totalMs / 1000));
}
