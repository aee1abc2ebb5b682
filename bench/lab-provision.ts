// Lab-scale provisioning benchmark (not a test): a lab of N students (default 500) with Arc on and
// one instructor, on the simulated cluster and Azure with latency injected (Kubernetes writes
// 20 ms, ARM calls 150 ms; VM boot and Arc connect compressed) and the simulated ARM enforcing
// its token buckets (writes 200 burst / 10 per s, reads 250 / 25 per s), behind the same client-side
// budget. Prints the wall time from the request to the lab operation's end, ARM writes, reads and
// 429s, the ratio of the wall time to the minimum the ARM write budget allows, and memory.
// Usage: node --import tsx bench/lab-provision.ts [--students 500 --parallelism 150 --concurrency 64 --kube-qps 50 --redis --connect-after-ms 1000]
import { Redis } from 'ioredis';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { printBenchResult } from './support/result.js';
import { benchTenantBody } from './support/tenant.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const students = arg('students', 500);
const parallelism = arg('parallelism', 150);
const concurrency = arg('concurrency', 64);
// --redis: operations and jobs on Redis (BullMQ) instead of the in-process queue.
// --kube-qps N: the process's Kubernetes write budget (KUBE_QPS, burst twice that); default: the configured default.
const kubeQps = args.includes('--kube-qps') ? arg('kube-qps', 50) : undefined;
const redisUrl = args.includes('--redis') ? (process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379') : undefined;
// --connect-after-ms N: how long each Arc machine takes to connect (late machines keep identity waits re-checking).
const connectAfterMs = arg('connect-after-ms', 1_000);
const ARM = { writes: { burst: 200, ratePerSecond: 10 }, reads: { burst: 250, ratePerSecond: 25 }, deletes: { burst: 200, ratePerSecond: 10 } };

const config = loadConfig({
  LOG_LEVEL: 'warn',
  MAX_EVENT_LOOP_DELAY_MS: '0',
  PORT: '0',
  RATE_LIMIT_PER_MINUTE: '60000000',
  LAB_PARALLELISM: String(parallelism),
  WORKER_CONCURRENCY: String(concurrency),
  BODY_LIMIT_BYTES: String(8 * 1024 * 1024),
  ...(redisUrl === undefined ? {} : { REDIS_URL: redisUrl }),
  ...(kubeQps === undefined ? {} : { KUBE_QPS: String(kubeQps), KUBE_BURST: String(2 * kubeQps) }),
});
const deps = await buildDeps(config, createLogger(config), {
  simAzure: { latencyMs: 150, throttling: ARM, clientBudget: ARM, appearAfterMs: 500, connectAfterMs, extensionInstallMs: 1_000 },
});
const emulator = deps.emulator;
const sim = deps.identity.sim;
if (emulator === undefined || sim === undefined) throw new Error('the benchmark needs the simulated cluster and Azure');
for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) emulator.faults.latency(20, { method });
const app = await buildAppFromDeps(deps);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
await deps.jobs.engine.startWorker({ concurrency });
deps.background.start();
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const post = async (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

const tenant = 'bench-lab';
const created = await post('/v1/tenants', benchTenantBody(tenant, 'Lab bench tenant', 600));
if (created.status !== 201) throw new Error(`tenant: ${created.status} ${await created.text()}`);
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const roster = Array.from({ length: students }, (_, i) => ({ id: id(i + 1), email: `s${i + 1}@uni.example`, displayName: `Student ${i + 1}` }));
const before = sim.stats();
// The Kubernetes writes this process makes (the simulated controllers write to the store directly,
// not over HTTP), by resource: what the Kubernetes write budget (KUBE_QPS) is spent on.
function kubeWrites(): { total: number; parts: Array<readonly [string, number]> } {
  const writesTo = (pathPrefix?: string) =>
    ['POST', 'PUT', 'PATCH', 'DELETE'].reduce(
      (n, method) => n + emulator!.requestCount({ method, ...(pathPrefix === undefined ? {} : { pathPrefix }) }),
      0,
    );
  return {
    total: writesTo(),
    parts: [
      ['VirtualMachines', writesTo(`/apis/kubevirt.io/v1/namespaces/${tenant}/virtualmachines`)],
      ['tenant Secrets (cloud-init)', writesTo(`/api/v1/namespaces/${tenant}/secrets`)],
      ['control-namespace Secrets (staged cloud-init)', writesTo(`/api/v1/namespaces/${config.controlNamespace}/secrets`)],
      ['Lab objects', writesTo(`/apis/labplane.io/v1alpha1/namespaces/${tenant}/labs`)],
      ['DataVolumes', writesTo(`/apis/cdi.kubevirt.io/v1beta1/namespaces/${tenant}/datavolumes`)],
      ['Leases', writesTo('/apis/coordination.k8s.io/')],
    ],
  };
}
const kubeWritesBefore = kubeWrites();
const kubeReadsBefore = emulator.requestCount({ method: 'GET' });
const kubeReadsBeforeBy = new Map(
  [`/api/v1/namespaces/${config.controlNamespace}/secrets`, '/apis/subresources.kubevirt.io/', '/apis/snapshot.kubevirt.io/'].map(
    (p) => [p, emulator.requestCount({ method: 'GET', pathPrefix: p })] as const,
  ),
);

// With --redis, how many keys the run adds to Redis at most (sampled each second).
const keys = redisUrl === undefined ? undefined : new Redis(redisUrl);
const keysAtStart = keys === undefined ? 0 : await keys.dbsize();
let keysMax = 0;
const sampler =
  keys === undefined ? undefined : setInterval(() => void keys.dbsize().then((n) => (keysMax = Math.max(keysMax, n - keysAtStart))), 1_000);
const t0 = performance.now();
// Where the time goes: ARM writes sampled every 100 ms, so the wall time splits into the write
// phase (until the last write) and the tail after it (boot, connect and extension install of the
// last students, the lab operation noticing), and a replay of ARM's write bucket over the samples
// shows when the budget went unused (its bucket full).
const writeSamples: { t: number; writes: number }[] = [];
// And the first moment each stage of a student was reached, sampled from the simulated cluster:
// a VM object exists, a VM instance runs.
const firstAt: Record<string, number> = {};
const writeSampler = setInterval(() => {
  const t = (performance.now() - t0) / 1000;
  writeSamples.push({ t, writes: sim.stats().writes - before.writes });
  if (firstAt['vm'] === undefined || firstAt['running'] === undefined) {
    const vms = emulator.store.list('virtualmachines.kubevirt.io');
    if (vms.length > 0) firstAt['vm'] ??= t;
    if (vms.some((v) => (v as { status?: { printableStatus?: string } }).status?.printableStatus === 'Running')) firstAt['running'] ??= t;
  }
}, 100);
const res = await post(`/v1/tenants/${tenant}/labs`, {
  name: 'bench',
  template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', arc: true },
  instructors: [{ id: id(0xffff), displayName: 'Instructor' }],
  students: roster,
});
if (res.status !== 202) throw new Error(`lab: ${res.status} ${await res.text()}`);
const opId = ((await res.json()) as { id: string }).id;
let op: { status: string; result?: { summary?: unknown; failed?: unknown[] } };
for (;;) {
  op = (await (await fetch(`${base}/v1/operations/${opId}`, { headers })).json()) as typeof op;
  if (['succeeded', 'failed', 'canceled'].includes(op.status)) break;
  await new Promise((r) => setTimeout(r, 250));
}
const wallS = (performance.now() - t0) / 1000;
clearInterval(writeSampler);
if (sampler !== undefined) clearInterval(sampler);
const keysAtEnd = keys === undefined ? 0 : (await keys.dbsize()) - keysAtStart;
await keys?.quit();
const after = sim.stats();
const writes = after.writes - before.writes;
const reads = after.reads - before.reads;
const throttled = after.throttled - before.throttled;
const minS = Math.max(0, writes - ARM.writes.burst) / ARM.writes.ratePerSecond;
const mem = process.memoryUsage();
const mib = (b: number) => (b / 1024 / 1024).toFixed(0);
console.log(
  `lab of ${students} students (Arc on, 1 instructor), parallelism ${parallelism}, worker concurrency ${concurrency}, Kubernetes writes ${config.kubeQps}/s (burst ${config.kubeBurst}), jobs ${redisUrl === undefined ? 'in process' : 'on Redis (BullMQ)'}`,
);
console.log(`operation: ${op.status}; summary ${JSON.stringify(op.result?.summary)}; failed students ${op.result?.failed?.length ?? 'n/a'}`);
console.log(`wall time: ${wallS.toFixed(1)} s`);
console.log(
  `ARM writes: ${writes}, reads: ${reads}, 429s received: ${throttled}, onboarding tokens minted: ${after.tokensMinted - before.tokensMinted}`,
);
console.log(
  `minimum set by the ARM write budget: ${minS.toFixed(1)} s ((writes - ${ARM.writes.burst} burst) / ${ARM.writes.ratePerSecond} per s); ratio: ${minS > 0 ? (wallS / minS).toFixed(3) : 'n/a'}`,
);
{
  const last = writeSamples.find((x) => x.writes >= writes);
  const first = writeSamples.find((x) => x.writes > 0);
  // The budget is lost only while ARM's bucket is full (its refill then goes unused): replay the
  // bucket over the samples and say when that happened, by 10 s window from the request.
  let tokens: number = ARM.writes.burst;
  let prev = { t: 0, writes: 0 };
  const idleByWindow = new Map<number, number>();
  for (const x of writeSamples) {
    if (x.writes >= writes && prev.writes >= writes) break;
    const refill = ARM.writes.ratePerSecond * (x.t - prev.t);
    const unused = Math.max(0, tokens + refill - ARM.writes.burst);
    tokens = Math.min(ARM.writes.burst, tokens + refill) - (x.writes - prev.writes);
    const w = Math.floor(prev.t / 10) * 10;
    idleByWindow.set(w, (idleByWindow.get(w) ?? 0) + unused / ARM.writes.ratePerSecond);
    prev = x;
  }
  const lost = [...idleByWindow].filter(([, sec]) => sec >= 0.05);
  console.log(
    `ARM write budget left unused (its bucket full): ${lost.reduce((n, [, sec]) => n + sec, 0).toFixed(1)} s in all; by 10 s window from the request: ${lost.map(([w, sec]) => `${w}-${w + 10} s: ${sec.toFixed(1)}`).join(', ') || 'none'}`,
  );
  console.log(
    `time split: first VM object at ${firstAt['vm']?.toFixed(1) ?? 'n/a'} s, first VM running at ${firstAt['running']?.toFixed(1) ?? 'n/a'} s, first ARM write at ${first?.t.toFixed(1) ?? 'n/a'} s, last at ${last?.t.toFixed(1) ?? 'n/a'} s, tail after it ${last === undefined ? 'n/a' : (wallS - last.t).toFixed(1)} s`,
  );
}
{
  const at = kubeWrites();
  const total = at.total - kubeWritesBefore.total;
  const parts = at.parts.map(([what, n], i) => [what, n - (kubeWritesBefore.parts[i]?.[1] ?? 0)] as const);
  const named = parts.reduce((n, [, c]) => n + c, 0);
  console.log(
    `Kubernetes writes: ${total} (${(total / students).toFixed(1)} per student; ${(total / config.kubeQps).toFixed(0)} s at ${config.kubeQps}/s): ${parts
      .filter(([, c]) => c > 0)
      .map(([what, c]) => `${what} ${c}`)
      .join(', ')}, other ${total - named}`,
  );
  // Reads take a token of the same budget (KUBE_QPS counts every request): with the writes, they are
  // what the Kubernetes budget bounds. Watches count once each, when opened.
  const reads = emulator.requestCount({ method: 'GET' }) - kubeReadsBefore;
  const byPrefix = (prefix: string) => emulator.requestCount({ method: 'GET', pathPrefix: prefix }) - (kubeReadsBeforeBy.get(prefix) ?? 0);
  console.log(
    `Kubernetes reads: ${reads} (control-namespace Secrets ${byPrefix(`/api/v1/namespaces/${config.controlNamespace}/secrets`)}, ` +
      `VMI subresources (guest sessions) ${byPrefix('/apis/subresources.kubevirt.io/')}, snapshots ${byPrefix('/apis/snapshot.kubevirt.io/')}); ` +
      `reads and writes ${reads + total}, ${((reads + total) / config.kubeQps).toFixed(0)} s at ${config.kubeQps}/s`,
  );
}
if (redisUrl !== undefined)
  console.log(
    `Redis keys added: at most ${Math.max(keysMax, keysAtEnd)} during the run, ${keysAtEnd} at the end (Arc machines connect after ${connectAfterMs} ms)`,
  );
console.log(
  `memory (API, worker and simulated cluster share this process in the embedded default): rss ${mib(mem.rss)} MiB, heap used ${mib(mem.heapUsed)} MiB`,
);
printBenchResult('lab-provision', [
  {
    figure: `${students}-student lab / ARM write-budget minimum`,
    value: minS > 0 ? wallS / minS : Number.NaN,
    unit: 'x',
    goal: { op: '<=', value: 1.05 },
  },
  { figure: `${students}-student lab, ARM 429s received`, value: throttled, unit: '', goal: { op: '<=', value: 0 } },
]);
await app.close();
await deps.jobs.engine.stop({ graceMs: 0 });
await deps.close();
process.exit(0);
