import { Counter, Histogram, type Registry } from 'prom-client';
import type { JobMetricsSource } from '../domain/operations/job-queue.js';
import type { UpstreamMetrics } from '../domain/shared/upstream-metrics.js';
import type { TerminalOperationListener } from '../domain/webhooks/operation-tap.js';

/**
 * Calls to Kubernetes and ARM as Prometheus metrics: requests by upstream, verb, resource type and
 * status; time waiting for the client-side budget (KUBE_QPS/KUBE_BURST, the ARM buckets); 429s.
 */
export function createUpstreamMetrics(registry: Registry): UpstreamMetrics {
  const requests = new Counter({
    name: 'labplane_upstream_requests_total',
    help: 'Requests to the Kubernetes API server and Azure Resource Manager by verb, resource type and status (error: no answer).',
    labelNames: ['upstream', 'verb', 'resource', 'status'] as const,
    registers: [registry],
  });
  const waits = new Histogram({
    name: 'labplane_upstream_budget_wait_seconds',
    help: 'Time a request waited for a token of the client-side request budget.',
    labelNames: ['upstream'] as const,
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const throttled = new Counter({
    name: 'labplane_upstream_throttled_total',
    help: '429 Too Many Requests (or 503 with Retry-After) answers from the upstream.',
    labelNames: ['upstream'] as const,
    registers: [registry],
  });
  return {
    request: ({ upstream, verb, resource, status }) => requests.inc({ upstream, verb, resource, status: String(status) }),
    budgetWait: (upstream, seconds) => waits.observe({ upstream }, seconds),
    throttled: (upstream) => throttled.inc({ upstream }),
  };
}

/**
 * Operations by kind and outcome, with their duration (created to finished), counted in the process
 * that finishes them.
 */
export function operationMetrics(registry: Registry): TerminalOperationListener {
  const finished = new Counter({
    name: 'labplane_operations_total',
    help: 'Operations finished, by kind and outcome (succeeded, failed, canceled).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'labplane_operation_duration_seconds',
    help: 'Time from an operation being created to it finishing, by kind and outcome.',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  return (op) => {
    const labels = { kind: op.kind, outcome: op.status };
    finished.inc(labels);
    if (op.finishedAt !== undefined) duration.observe(labels, Math.max(0, Date.parse(op.finishedAt) - Date.parse(op.createdAt)) / 1000);
  };
}

/**
 * How long re-checking steps waited before they moved on, by kind and step: for VM identities the
 * wait for the Arc agent to connect (`vm.identity`, `wait-connected`) and for the SSH extension to
 * install (`vm.identity`, `install-extension`); for VMs the wait until they run.
 */
export function stepWaitMetrics(registry: Registry, source: JobMetricsSource): () => void {
  const waited = new Histogram({
    name: 'labplane_step_wait_seconds',
    help: 'Time a re-checking step waited (first re-check to moving on), by job kind and step.',
    labelNames: ['kind', 'step'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  return source.onStepFinished((o) => {
    if (o.waitedMs !== undefined) waited.observe({ kind: o.kind, step: o.step }, o.waitedMs / 1000);
  });
}
