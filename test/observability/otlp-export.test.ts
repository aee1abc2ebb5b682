import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeployment, type Deployment } from '../faults/support.js';
import { until } from '../support/processes.js';
import { sshKey } from '../vms/support.js';
import { secretsIn, spanTree, type SpanLike } from './support.js';

/**
 * Done-when of issue #18, over the wire: the API process and a worker process (BullMQ on Redis, the
 * Kubernetes API emulator in a process of its own, the real ARM adapters against the ARM stand-in)
 * export OTLP/HTTP (protobuf) to a receiver on loopback, which decodes the requests with the
 * OpenTelemetry protocol's own definitions (the protobufjs root generated from opentelemetry-proto
 * that @opentelemetry/otlp-transformer ships) and finds creating an Arc VM as one trace across both
 * processes: the request, the job steps the worker ran from the trace context in the job data, its
 * Kubernetes requests and ARM calls; no orphaned span and no credential in any attribute.
 */
interface ProtoRoot {
  opentelemetry: {
    proto: {
      collector: { trace: { v1: { ExportTraceServiceRequest: { decode(buf: Uint8Array): unknown; toObject(m: unknown, o: object): any } } } };
    };
  };
}
const root = createRequire(import.meta.url)('@opentelemetry/otlp-transformer/build/src/generated/root.js') as ProtoRoot;
const ExportTraceServiceRequest = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

interface Received extends SpanLike {
  readonly traceId: string;
  readonly service: string;
}

const TENANT = 'otlp-t';
const OWNER = '0b0b0b0b-0000-4000-8000-0000000000ot';
let receiver: Server;
const received: Received[] = [];
const contentTypes = new Set<string>();
let d: Deployment;

/** Decodes one OTLP/HTTP protobuf export request into spans. */
function decode(body: Buffer): Received[] {
  const msg = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { bytes: String, longs: String, defaults: false });
  const hex = (b64: string | undefined) => (b64 === undefined || b64 === '' ? undefined : Buffer.from(b64, 'base64').toString('hex'));
  const value = (v: Record<string, unknown>): unknown =>
    v['stringValue'] ?? v['intValue'] ?? v['boolValue'] ?? v['doubleValue'] ?? JSON.stringify(v['arrayValue'] ?? v['kvlistValue'] ?? null);
  const out: Received[] = [];
  for (const rs of msg.resourceSpans ?? []) {
    const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((a: any) => [a.key, value(a.value ?? {})]));
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          name: s.name,
          traceId: hex(s.traceId) ?? '',
          spanId: hex(s.spanId) ?? '',
          parentSpanId: hex(s.parentSpanId),
          service: String(resource['service.name']),
          attributes: Object.fromEntries((s.attributes ?? []).map((a: any) => [a.key, value(a.value ?? {})])),
        });
      }
    }
  }
  return out;
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      const raw = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url === '/v1/traces')
        received.push(...decode(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  d = await startDeployment({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '200' } });
  const res = await d.call('POST', '/v1/tenants', { id: TENANT, displayName: 'OTLP tenant', profile: 'faculty', owners: [{ principalId: OWNER }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}, 300_000);

afterAll(async () => {
  await d?.close();
  await new Promise((resolve) => receiver?.close(resolve));
}, 60_000);

describe('OTLP/HTTP export', () => {
  it('the API and the worker export one trace of an Arc VM create, decoded with the OTLP definitions', async () => {
    const res = await d.call('POST', `/v1/tenants/${TENANT}/vms`, {
      name: 'otlp-vm',
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: true,
      owner: OWNER,
      sshPublicKeys: [sshKey('otlp@lab')],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const traceId = res.body.traceId as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect((await d.settle(res.body.id, 120_000))['status']).toBe('succeeded');
    const children = (await d.call('GET', `/v1/operations?parentId=${res.body.id}&limit=50`)).body.items as Array<Record<string, any>>;
    const identity = children.find((o) => o['kind'] === 'vm.identity');
    expect(identity?.['traceId']).toBe(traceId);
    expect((await d.settle(identity?.['id'], 120_000))['status']).toBe('succeeded');

    // Until the worker's last step (granting access) has been exported.
    const spans = await until(
      () => {
        const mine = received.filter((s) => s.traceId === traceId);
        return mine.some((s) => s.name === 'job vm.identity/grant-access') ? mine : undefined;
      },
      30_000,
      () => `the grant-access step span\n${[...new Set(received.map((s) => s.name))].join(', ')}\n${d.diagnose()}`,
    );
    expect([...contentTypes]).toEqual(['application/x-protobuf']);
    const { roots, orphans } = spanTree(spans);
    expect(orphans.map((s) => `${s.service}: ${s.name}`)).toEqual([]);
    expect(roots.map((s) => `${s.service}: ${s.name}`)).toEqual(['labplane: POST /v1/tenants/:tenant/vms']);
    const worker = spans.filter((s) => s.service === 'labplane-worker');
    expect(worker.filter((s) => s.name.startsWith('job vm.create/')).length).toBeGreaterThanOrEqual(2);
    expect(worker.filter((s) => s.name.startsWith('job vm.identity/')).length).toBeGreaterThanOrEqual(2);
    const kubeHost = new URL(d.kube.url).host;
    expect(worker.some((s) => String(s.attributes['url.full'] ?? '').includes(kubeHost))).toBe(true);
    expect(worker.some((s) => String(s.attributes['http.url'] ?? '').startsWith(d.arm.server.url))).toBe(true);
    // Redis commands of the operation store, in both processes, named by the command alone.
    const redis = spans.filter((s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis');
    expect(new Set(redis.map((s) => s.service))).toEqual(new Set(['labplane', 'labplane-worker']));
    for (const s of redis) expect(String(s.attributes['db.statement'] ?? s.attributes['db.query.text'] ?? s.name)).toMatch(/^[a-z]+$/i);
    expect(secretsIn(received, [await d.admin(), 'faults-control-plane-token', 'faults-onboarding-token'])).toEqual([]);
    // Above the waits' own budgets (two settles and the export), so a slow run fails on the wait that
    // names what it was waiting for, not on vitest's default limit.
  }, 300_000);
});
