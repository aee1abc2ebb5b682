import { readFileSync } from 'node:fs';
import { parser } from '@prometheus-io/lezer-promql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, vmBody } from '../vms/support.js';

/**
 * The metrics an operator asks for first (issue #18): operations by kind and outcome with their
 * duration, re-checking steps' waits, Kubernetes calls by verb, resource and status, client-side
 * budget waits; and the Grafana dashboard in deploy/ only queries metrics the service exports.
 */
let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'ada', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

const scrape = async () => (await restClient(t).api().get('/metrics').set('authorization', admin)).text;

/** Metric names a PromQL query selects (the grammar's own syntax tree; throws on a syntax error). */
function selectedMetrics(query: string): string[] {
  const tree = parser.parse(query);
  const names: string[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) throw new Error(`PromQL syntax error at ${node.from}: ${query.slice(node.from, node.from + 40)}`);
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id !== null) names.push(query.slice(id.from, id.to));
      }
    },
  });
  return names;
}

describe('operator metrics', () => {
  it('a VM create shows as an operation by kind and outcome with its duration, and as Kubernetes calls by verb, resource and status', async () => {
    const rest = restClient(t);
    const tenant = await rest.createTenant(admin);
    const created = await rest.createVm(admin, tenant, vmBody('metered'));
    expect(created['status']).toBe('succeeded');
    const text = await scrape();
    expect(text).toMatch(/^labplane_operations_total\{kind="vm\.create",outcome="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^labplane_operation_duration_seconds_count\{kind="vm\.create",outcome="succeeded"\} [1-9]/m);
    expect(text).toMatch(/^labplane_upstream_requests_total\{upstream="kubernetes",verb="POST",resource="virtualmachines",status="201"\} [1-9]/m);
    expect(text).toMatch(/^labplane_upstream_budget_wait_seconds_count\{upstream="kubernetes"\} [1-9]/m);
    // Bounded labels: no tenant, VM name or id in any upstream label.
    for (const line of text.split('\n').filter((l) => l.startsWith('labplane_upstream_requests_total{'))) {
      expect(line).not.toContain(tenant);
      expect(line).not.toContain('metered');
    }
  });

  it('the Grafana dashboard is valid JSON whose every panel query parses and selects only metrics the service exports', async () => {
    const dashboard = JSON.parse(readFileSync('deploy/grafana/labplane-dashboard.json', 'utf8')) as {
      panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
    };
    const exported = new Set((await t.deps.metrics.getMetricsAsJSON()).map((m) => m.name));
    // Grafana's variables as Prometheus would get them.
    const grafana = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$job', '.*');
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((q) => ({ panel: p.title, expr: grafana(q.expr) })));
    expect(queries.length).toBeGreaterThanOrEqual(10);
    const base = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    const unknown = queries.flatMap((q) =>
      selectedMetrics(q.expr)
        .filter((n) => !exported.has(n) && !exported.has(base(n)))
        .map((n) => `${q.panel}: ${n}`),
    );
    expect(unknown).toEqual([]);
    for (const name of [
      'labplane_operations_total',
      'labplane_step_wait_seconds',
      'labplane_upstream_throttled_total',
      'labplane_http_request_duration_seconds',
    ])
      expect(
        queries.some((q) => selectedMetrics(q.expr).some((n) => base(n) === name)),
        name,
      ).toBe(true);
    expect(() => selectedMetrics('sum(rate(x{a="b}[5m]))')).toThrow(/syntax error/);
  });
});
