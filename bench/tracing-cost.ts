// Load benchmark (not a test): what tracing costs in read throughput. Three API processes of the
// embedded default, built alike, serve the same VM read: tracing off, tracing on with OpenTelemetry's
// default sampler (parentbased_always_on: every request traced), and tracing on as the deploy kit
// samples (parentbased_traceidratio 0.1). The traced ones export OTLP/HTTP to a sink on loopback in
// this process. Rounds alternate between the three (same run, same machine), and the medians are
// compared. Goal (issue: observability): on costs at most 10% of the read throughput.
// Usage: node --import tsx bench/tracing-cost.ts [--seconds 8 --connections 50 --rounds 3]
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { printBenchResult } from './support/result.js';
import { benchTenantBody } from './support/tenant.js';
import { imageSettings } from './support/image-settings.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = arg('seconds', 8);
const connections = arg('connections', 50);
const rounds = arg('rounds', 3);
const TENANT = 'bench-tracing';
/** An OpenSSH ed25519 public key of no one (fixed bytes). */
const BENCH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')} bench@labplane`;

// The OTLP sink: takes every export and answers 200 (a collector's answer), counting the bytes.
let exportedBytes = 0;
let exports = 0;
const sink = http.createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (exportedBytes += chunk.length));
  req.on('end', () => {
    exports += 1;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

interface Server {
  readonly name: string;
  readonly base: string;
  readonly child: ChildProcess;
}

async function startServer(name: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  // With the image's Node flags, as the API is deployed.
  const child = spawn(process.execPath, [...imageSettings().flags, '--import', 'tsx', 'src/main/server.ts'], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '60000000',
      MAX_EVENT_LOOP_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} not ready after 120 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { name, base, child };
}

async function prepare(s: Server): Promise<{ url: string; headers: Record<string, string> }> {
  const tokenRes = await fetch(`${s.base}/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sub: 'bench', roles: ['platform-admin'] }),
  });
  const token = ((await tokenRes.json()) as { accessToken: string }).accessToken;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const tenant = await fetch(`${s.base}/v1/tenants`, { method: 'POST', headers, body: JSON.stringify(benchTenantBody(TENANT, 'Tracing bench', 10)) });
  if (tenant.status !== 201) throw new Error(`${s.name}: tenant ${tenant.status} ${await tenant.text()}`);
  const vm = await fetch(`${s.base}/v1/tenants/${TENANT}/vms`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      name: 'vm-1',
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      running: false,
      sshPublicKeys: [BENCH_KEY],
    }),
  });
  if (vm.status !== 202) throw new Error(`${s.name}: VM ${vm.status} ${await vm.text()}`);
  const url = `${s.base}/v1/tenants/${TENANT}/vms/vm-1`;
  for (const started = Date.now(); (await fetch(url, { headers })).status !== 200; ) {
    if (Date.now() - started > 60_000) throw new Error(`${s.name}: the VM is not readable after 60 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, headers: { authorization: headers.authorization } };
}

async function load(url: string, headers: Record<string, string>) {
  // A worker thread generates the load; the servers are processes of their own.
  const r = await autocannon({ url, connections, duration: seconds, headers, workers: 1 });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl, OTEL_SERVICE_NAME: 'labplane-bench' };
const servers = [
  await startServer('tracing off', {}),
  await startServer('on, every request (OTel default sampler)', { ...otlp, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }),
  await startServer('on, 1 in 10 (the deploy kit)', { ...otlp, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }),
];
try {
  const targets = [];
  for (const s of servers) targets.push(await prepare(s));
  // Warm-up: each process's routes, caches and JIT before the measured rounds.
  for (const t of targets) await autocannon({ url: t.url, connections, duration: 2, headers: t.headers, workers: 1 });
  const results: Array<Array<Awaited<ReturnType<typeof load>>>> = servers.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < servers.length; i++) {
      const t = targets[i]!;
      results[i]!.push(await load(t.url, t.headers));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const off = median(results[0]!.map((x) => x.rps));
  console.log(`GET /v1/tenants/{t}/vms/{vm}: median of ${rounds} alternating rounds, ${connections} connections, ${seconds} s each`);
  for (let i = 0; i < servers.length; i++) {
    const rps = median(results[i]!.map((x) => x.rps));
    const p99 = median(results[i]!.map((x) => x.p99));
    const bad = results[i]!.reduce((n, x) => n + x.non2xx + x.errors, 0);
    console.log(
      `${servers[i]!.name.padEnd(42)} ${rps.toFixed(0).padStart(6)} req/s  p99 ${String(p99).padStart(4)} ms  non-2xx+errors ${bad}` +
        (i === 0 ? '' : `  ${((rps / off) * 100).toFixed(1)}% of off (cost ${(100 - (rps / off) * 100).toFixed(1)}%)`),
    );
  }
  console.log(`OTLP exports received: ${exports} (${(exportedBytes / 1024).toFixed(0)} KiB); ${process.version}`);
  printBenchResult(
    'tracing',
    servers.slice(1).map((s, i) => ({
      figure: `GET VM, ${s.name} / tracing off`,
      value: median(results[i + 1]!.map((x) => x.rps)) / off,
      unit: 'ratio',
      goal: { op: '>=' as const, value: 0.9 },
    })),
  );
} finally {
  for (const s of servers) s.child.kill('SIGTERM');
  sink.close();
}
