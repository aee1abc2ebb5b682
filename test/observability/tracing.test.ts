import { Writable } from 'node:stream';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../src/main/logger.js';
import { startTelemetry, type Telemetry } from '../../src/main/telemetry.js';
import { startArmServer, type ArmServer } from '../azure/support/arm-server.js';
import { ARM_SETTINGS, armStandInPorts, startArcAgents } from '../support/arm-stand-in.js';
import { eventually } from '../support/eventually.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, vmBody } from '../vms/support.js';
import { CONTROL_PLANE_TOKEN, ONBOARDING_TOKEN, secretsIn, spanTree } from './support.js';

/**
 * Done-when of issue #18, in process: with tracing on (an in-memory exporter), creating a VM with
 * Arc on the embedded default (the real ARM adapters against the local ARM stand-in) is ONE trace:
 * the HTTP request, every job step of the operation and of its child (the trace context travels in
 * the job data, the same code a worker in another process runs), the Kubernetes requests and the
 * ARM calls, with no orphaned span and no secret in any attribute.
 */
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry | undefined;
let arm: ArmServer;
let t: TestApp;
let agents: { stop(): void } | undefined;
let admin: string;
let owner: string;

beforeAll(async () => {
  telemetry = await startTelemetry({}, { spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  arm = await startArmServer(ARM_SETTINGS);
  t = await startTestApp({}, { azure: armStandInPorts(arm.url, arm.ca, { controlPlane: CONTROL_PLANE_TOKEN, onboarding: ONBOARDING_TOKEN }) });
  agents = startArcAgents(t.deps.emulator!.url, arm);
  admin = await t.bearer({ sub: 'ada', roles: ['platform-admin'] });
  owner = await t.bearer({ sub: 'olga' });
});
afterAll(async () => {
  agents?.stop();
  await t?.close();
  await arm?.close();
  await telemetry?.shutdown();
});

const api = () => request(t.app.server);
const settle = (id: string, timeoutMs: number) => restClient(t).settle(admin, id, timeoutMs);

// The steps wait on the simulated Arc agent and ARM stand-in (60 s of settle budget below): the test's
// own limit is above them, not vitest's default 20 s, which a loaded CI run exceeded.
describe('tracing on the embedded default', { timeout: 120_000 }, () => {
  it('creating an Arc VM is one trace: request, job steps, Kubernetes requests, ARM calls; no orphan, no secret', async () => {
    const tenant = await restClient(t).createTenant(admin);
    const created = await api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', owner)
      .send(vmBody('arc-traced', { arc: true }));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const traceId = created.body.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);

    expect((await settle(created.body.id, 20_000))['status']).toBe('succeeded');
    const identity = (await t.deps.jobs.store.listChildren(created.body.id)).find((c) => c.kind === 'vm.identity');
    expect(identity?.traceId, 'the child operation started by a step is in the same trace').toBe(traceId);
    expect((await settle(identity!.id, 40_000))['status']).toBe('succeeded');

    await telemetry!.flush();
    const all = exporter.getFinishedSpans();
    const spans = all.filter((s) => s.spanContext().traceId === traceId);
    const { roots, orphans } = spanTree(spans);
    expect(orphans.map((s) => s.name)).toEqual([]);
    expect(roots.map((s) => s.name)).toEqual(['POST /v1/tenants/:tenant/vms']);

    const names = new Set(spans.map((s) => s.name));
    const steps = (kind: string) => [...names].filter((n) => n.startsWith(`job ${kind}/`));
    expect(steps('vm.create').length, [...names].join(', ')).toBeGreaterThanOrEqual(2);
    expect(steps('vm.identity').length, [...names].join(', ')).toBeGreaterThanOrEqual(2);
    // Every step span carries the operation's id, no input.
    for (const s of spans.filter((x) => x.name.startsWith('job '))) {
      expect(s.attributes['labplane.operation.id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const emulatorHost = new URL(t.deps.emulator!.url).host;
    const kube = spans.filter((s) => String(s.attributes['url.full'] ?? '').includes(emulatorHost));
    expect(kube.map((s) => s.attributes['http.request.method'])).toEqual(expect.arrayContaining(['POST', 'GET']));
    // ARM calls, by the Azure SDK's own instrumentation: the Arc machine and its extension, and the role assignment.
    const armUrls = spans.map((s) => String(s.attributes['http.url'] ?? '')).filter((u) => u.startsWith(arm.url));
    expect(armUrls.some((u) => u.includes('/providers/Microsoft.HybridCompute/machines'))).toBe(true);
    expect(armUrls.some((u) => u.includes('/extensions/'))).toBe(true);
    expect(armUrls.some((u) => u.includes('/providers/Microsoft.Authorization/roleAssignments'))).toBe(true);

    // No credential anywhere in any span of the run (not only this trace).
    expect(secretsIn(all, [owner, admin, CONTROL_PLANE_TOKEN, ONBOARDING_TOKEN])).toEqual([]);
  });

  it('problem+json answers carry the trace id beside the request id, and log lines carry trace_id and span_id', async () => {
    const res = await api().get('/v1/tenants/nowhere-to-be-found').set('authorization', admin);
    expect(res.status).toBe(404);
    expect(res.body.requestId).toBeDefined();
    expect(res.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    await telemetry!.flush();
    const span = exporter.getFinishedSpans().find((s) => s.attributes['labplane.request.id'] === res.body.requestId);
    expect(span?.spanContext().traceId).toBe(res.body.traceId);
    expect(span?.name).toBe('GET /v1/tenants/:tenant');

    const lines: string[] = [];
    const logger = pino(
      loggerOptions({ logLevel: 'info' }),
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const ids = trace.getTracer('test').startActiveSpan('logging', (s) => {
      logger.info('inside a span');
      s.end();
      return s.spanContext();
    });
    logger.info('outside');
    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
    expect(outside?.['trace_id']).toBeUndefined();
  });

  it('GraphQL requests are named by their operation', async () => {
    const res = await api().post('/graphql').set('authorization', admin).send({ query: 'query TracedTenants { tenants { items { id } } }' });
    expect(res.status).toBe(200);
    await telemetry!.flush();
    await eventually(
      async () => exporter.getFinishedSpans().find((s) => s.name === 'graphql query TracedTenants'),
      5_000,
      'the GraphQL request span',
    );
  });
});
