import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TokenCredential } from '@azure/identity';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AZURE_MONITOR_PROMETHEUS_SCOPE, createPrometheusUsage, type PrometheusUsageOptions } from '../../src/adapters/prometheus/index.js';
import { createSimPrometheus, type SimPrometheus } from '../../src/adapters/sim/prometheus.js';
import { isDomainError } from '../../src/domain/shared/errors.js';

const AT = new Date('2026-12-01T10:00:00.000Z');
const clock = { now: () => AT };
/** Faults aimed at one of the four queries of a reading, so the others cannot take them. */
const CPU = /kubevirt_vmi_cpu_usage_seconds_total/;

let sim: SimPrometheus;
beforeEach(async () => {
  sim = createSimPrometheus();
  await sim.listen();
});
afterEach(async () => {
  await sim.close();
});

function adapter(options: Partial<PrometheusUsageOptions> = {}) {
  return createPrometheusUsage({ baseUrl: sim.url, auth: { kind: 'none' }, clock, ...options });
}

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (isDomainError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected a failure');
}

describe('VM usage from Prometheus (simulated, over HTTP)', () => {
  it('reads several VMs of several tenants with one query per signal', async () => {
    sim.setUsage('cs101', 'vm-a', { cpu: 0.5, network: 2000, disk: 4096 });
    sim.setLastConnection('cs101', 'vm-a', new Date('2026-12-01T09:58:20Z'));
    sim.setUsage('bio200', 'vm-b', { cpu: 0.01, network: 0, disk: 0 });
    // Another tenant's VM of the same name is not mistaken for the one asked about.
    sim.setUsage('bio200', 'vm-a', { cpu: 3, network: 9, disk: 9 });

    const result = await adapter().usage(
      [
        { tenant: 'cs101', name: 'vm-a' },
        { tenant: 'bio200', name: 'vm-b' },
      ],
      300,
    );

    expect(result).toEqual([
      {
        vm: { tenant: 'cs101', name: 'vm-a' },
        usage: { cpuCores: 0.5, networkBytesPerSecond: 2000, diskBytesPerSecond: 4096, lastConsoleAt: new Date('2026-12-01T09:58:20Z') },
      },
      { vm: { tenant: 'bio200', name: 'vm-b' }, usage: { cpuCores: 0.01, networkBytesPerSecond: 0, diskBytesPerSecond: 0 } },
    ]);
    expect(sim.requests).toHaveLength(4);
    expect(sim.requests.every((r) => r.method === 'POST' && r.time === '1796119200.000' && r.authorization === undefined)).toBe(true);
    expect(sim.requests.map((r) => r.query).join('\n')).toContain('[300s]');
  });

  it('gives `unavailable` for a VM missing any usage series, not zeros', async () => {
    sim.setUsage('cs101', 'full', { cpu: 0.2, network: 1, disk: 1 });
    sim.setUsage('cs101', 'no-disk', { cpu: 0.2, network: 1, disk: 1 });
    sim.remove('cs101', 'no-disk', 'diskWrite');
    sim.setCpu('cs101', 'cpu-only', 0.2);

    const result = await adapter().usage(
      ['full', 'no-disk', 'cpu-only', 'never-scraped'].map((name) => ({ tenant: 'cs101', name })),
      120,
    );

    expect(result.map((r) => [r.vm.name, r.usage === 'unavailable' ? 'unavailable' : 'figures'])).toEqual([
      ['full', 'figures'],
      ['no-disk', 'unavailable'],
      ['cpu-only', 'unavailable'],
      ['never-scraped', 'unavailable'],
    ]);
  });

  it('reads VMs with names that are regex metacharacters exactly, and nothing they would match unescaped', async () => {
    sim.setUsage('cs.101', 'a.b', { cpu: 1, network: 1, disk: 1 });
    sim.setUsage('csx101', 'axb', { cpu: 7, network: 7, disk: 7 });
    sim.setUsage('cs101', 'x|y"z\\', { cpu: 2, network: 2, disk: 2 });

    const result = await adapter().usage(
      [
        { tenant: 'cs.101', name: 'a.b' },
        { tenant: 'csx101', name: 'a.b' },
        { tenant: 'cs101', name: 'x|y"z\\' },
      ],
      300,
    );

    expect(result.map((r) => (r.usage === 'unavailable' ? 'unavailable' : r.usage.cpuCores))).toEqual([1, 'unavailable', 2]);
  });

  it('reads many VMs in rounds of at most maxVmsPerQuery', async () => {
    const vms = Array.from({ length: 5 }, (_, i) => ({ tenant: 'cs101', name: `vm-${i}` }));
    for (const vm of vms) sim.setUsage(vm.tenant, vm.name, { cpu: 1, network: 1, disk: 1 });
    const result = await adapter({ maxVmsPerQuery: 2 }).usage(vms, 300);
    expect(result.every((r) => r.usage !== 'unavailable')).toBe(true);
    expect(sim.requests).toHaveLength(12);
    expect(await adapter().usage([], 300)).toEqual([]);
  });

  it('turns Prometheus error answers into catalogue errors', async () => {
    const vms = [{ tenant: 'cs101', name: 'vm-a' }];
    sim.failNext({
      match: CPU,
      status: 503,
      body: JSON.stringify({ status: 'error', errorType: 'timeout', error: 'query timed out in expression evaluation' }),
    });
    expect(await failure(adapter().usage(vms, 300))).toMatchObject({
      code: 'USAGE_METRICS_UNAVAILABLE',
      message: expect.stringContaining('timeout'),
    });

    sim.failNext({
      match: CPU,
      status: 422,
      body: JSON.stringify({ status: 'error', errorType: 'execution', error: 'many-to-many matching not allowed' }),
    });
    expect(await failure(adapter().usage(vms, 300))).toMatchObject({ code: 'USAGE_METRICS_REJECTED' });

    sim.failNext({ match: CPU, status: 502, body: '<html>Bad gateway</html>', contentType: 'text/html' });
    expect((await failure(adapter().usage(vms, 300))).code).toBe('USAGE_METRICS_UNAVAILABLE');

    sim.failNext({ match: CPU, status: 200, body: '{"status":"success","data":{"resultType":"matrix","result":[]}}' });
    expect((await failure(adapter().usage(vms, 300))).code).toBe('USAGE_METRICS_BAD_ANSWER');

    sim.failNext({ match: CPU, status: 200, body: 'not json' });
    expect((await failure(adapter().usage(vms, 300))).code).toBe('USAGE_METRICS_BAD_ANSWER');

    sim.failNext({
      match: CPU,
      status: 200,
      body: JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] }, pad: 'x'.repeat(5000) }),
    });
    expect(await failure(adapter({ maxResponseBytes: 4096 }).usage(vms, 300))).toMatchObject({
      code: 'USAGE_METRICS_BAD_ANSWER',
      message: expect.stringContaining('4096'),
    });
  });

  it('answers a query shape it does not serve with 400 bad_data, which the adapter reports as refused', async () => {
    const res = await fetch(`${sim.url}/api/v1/query?query=${encodeURIComponent('up')}`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const malformed = await fetch(`${sim.url}/api/v1/query`, {
      method: 'POST',
      body: new URLSearchParams({ query: 'sum by (namespace, name) (rate(kubevirt_vmi_cpu_usage_seconds_total{namespace=~"(",name=~"a"}[5s]))' }),
    });
    expect(await malformed.json()).toMatchObject({ errorType: 'bad_data' });

    sim.failNext({ match: CPU, status: 400, body: JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error' }) });
    expect((await failure(adapter().usage([{ tenant: 'cs101', name: 'vm-a' }], 300))).code).toBe('USAGE_METRICS_REJECTED');
  });

  it('gives up after its timeout with a retryable error', async () => {
    sim.hang(true);
    // Real time is the subject: the adapter's AbortSignal.timeout over a real socket (200 ms).
    const f = await failure(adapter({ timeoutMs: 200 }).usage([{ tenant: 'cs101', name: 'vm-a' }], 300));
    expect(f).toMatchObject({ code: 'USAGE_METRICS_UNAVAILABLE', message: expect.stringContaining('200 ms') });
  });

  it('reports a Prometheus that is not there as unavailable', async () => {
    const url = sim.url;
    await sim.close();
    const f = await failure(createPrometheusUsage({ baseUrl: url, auth: { kind: 'none' }, clock }).usage([{ tenant: 'a', name: 'b' }], 300));
    expect(f.code).toBe('USAGE_METRICS_UNAVAILABLE');
    sim = createSimPrometheus();
    await sim.listen();
  });

  it('sends a bearer token (fixed or from a file read on every query) and keeps it out of errors', async () => {
    sim.requireBearer('s3cret-token');
    sim.setUsage('cs101', 'vm-a', { cpu: 1, network: 1, disk: 1 });
    const vms = [{ tenant: 'cs101', name: 'vm-a' }];

    const wrong = await failure(adapter({ auth: { kind: 'bearer', token: 'wrong-token' } }).usage(vms, 300));
    expect(wrong.code).toBe('USAGE_METRICS_REJECTED');
    expect(wrong.message).not.toContain('wrong-token');

    expect((await adapter({ auth: { kind: 'bearer', token: 's3cret-token' } }).usage(vms, 300))[0]?.usage).not.toBe('unavailable');

    const dir = mkdtempSync(join(tmpdir(), 'lp-prom-'));
    const path = join(dir, 'token');
    writeFileSync(path, 'old-token\n');
    const fromFile = adapter({ auth: { kind: 'bearer-file', path } });
    expect((await failure(fromFile.usage(vms, 300))).code).toBe('USAGE_METRICS_REJECTED');
    writeFileSync(path, 's3cret-token\n');
    expect((await fromFile.usage(vms, 300))[0]?.usage).not.toBe('unavailable');
    expect(sim.requests.at(-1)?.authorization).toBe('Bearer s3cret-token');
  });

  it('asks an Azure credential for a token for Azure Monitor managed Prometheus', async () => {
    sim.requireBearer('aad-token');
    sim.setUsage('cs101', 'vm-a', { cpu: 1, network: 1, disk: 1 });
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: (scope) => {
        scopes.push(String(scope));
        return Promise.resolve({ token: 'aad-token', expiresOnTimestamp: AT.getTime() + 3_600_000 });
      },
    };
    const result = await adapter({ auth: { kind: 'credential', credential } }).usage([{ tenant: 'cs101', name: 'vm-a' }], 300);
    expect(result[0]?.usage).not.toBe('unavailable');
    expect(scopes).toEqual([AZURE_MONITOR_PROMETHEUS_SCOPE]);

    const broken: TokenCredential = { getToken: () => Promise.reject(new Error('AADSTS700016')) };
    expect((await failure(adapter({ auth: { kind: 'credential', credential: broken } }).usage([{ tenant: 'cs101', name: 'vm-a' }], 300))).code).toBe(
      'AZURE_CREDENTIAL_UNAVAILABLE',
    );
  });

  it('keeps a path prefix of the Prometheus URL and refuses a bad window', async () => {
    const prefixed = createPrometheusUsage({ baseUrl: `${sim.url}/prometheus/`, auth: { kind: 'none' }, clock });
    // The simulated server serves /api/v1/query only: a prefix reaches it as a 404 page, which is no Prometheus answer.
    expect((await failure(prefixed.usage([{ tenant: 'a', name: 'b' }], 300))).code).toBe('USAGE_METRICS_BAD_ANSWER');
    await expect(adapter().usage([{ tenant: 'a', name: 'b' }], 0)).rejects.toThrow(RangeError);
    await expect(adapter().usage([{ tenant: 'a', name: 'b' }], 1.5)).rejects.toThrow(RangeError);
  });
});
