// Load benchmark (not a test): with 500 VMs in a tenant on the embedded stack, GET one VM and a
// 50-item list page at 100 connections, each beside a bare fastify route returning a body of the
// same size on the same machine; prints req/s, p99, the ratios and the Kubernetes API requests
// made during the runs (goal: zero, reads come from the watch-backed cache).
// Usage: node --import tsx bench/vm-reads.ts [--seconds 10 --connections 100 --vms 500]
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { printBenchResult } from './support/result.js';
import { benchTenantBody } from './support/tenant.js';
import { benchVmObject } from './support/vm.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = arg('seconds', 10);
const connections = arg('connections', 100);
const count = arg('vms', 500);
const TENANT = 'bench-vms';

async function load(url: string, headers: Record<string, string>) {
  // A worker thread generates the load, so the server under test keeps its own event loop.
  const r = await autocannon({ url, connections, duration: seconds, headers, workers: 1 });
  // A figure of refusals would compare an error path with the bare route (seen: a fixed VM name that
  // --vms 200, the size `npm run bench` runs, did not create, so every GET by id was a 404).
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors; statuses ${JSON.stringify(r.statusCodeStats)}`);
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const config = loadConfig({ LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
const deps = await buildDeps(config, createLogger(config));
const emulator = deps.emulator;
if (emulator === undefined) throw new Error('the benchmark needs the simulated cluster');
const app = await buildAppFromDeps(deps);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const auth = { authorization: `Bearer ${token}` };
const created = await fetch(`${base}/v1/tenants`, {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify(benchTenantBody(TENANT, 'VM bench tenant', 600)),
});
if (created.status !== 201) throw new Error(`tenant: ${created.status} ${await created.text()}`);

// The VMs are written straight into the simulated cluster (the benchmark measures reads; 500
// creates through the API would mostly measure the client-side write budget), as the real adapter
// would write them; the simulated controllers then clone their disks and start them.
const t0 = performance.now();
for (let i = 0; i < count; i++) {
  const name = `vm-${String(i).padStart(4, '0')}`;
  emulator.store.create(
    'virtualmachines.kubevirt.io',
    benchVmObject(TENANT, name, { ownerId: `student-${i % 40}`, lab: `lab-${i % 5}`, labels: { course: `c${i % 3}` } }),
  );
}
for (;;) {
  const res = await fetch(`${base}/v1/tenants/${TENANT}/vms?limit=500&state=Running`, { headers: auth });
  const running = ((await res.json()) as { items: unknown[] }).items.length;
  if (running >= count) break;
  if (performance.now() - t0 > 120_000) throw new Error(`only ${running} of ${count} VMs are Running after 120 s`);
  await new Promise((r) => setTimeout(r, 250));
}
console.log(`${count} VMs Running in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// A VM from the middle of the tenant's, whatever --vms is.
const getUrl = `${base}/v1/tenants/${TENANT}/vms/vm-${String(Math.floor(count / 2)).padStart(4, '0')}`;
const listUrl = `${base}/v1/tenants/${TENANT}/vms?limit=50`;
const getBody = await (await fetch(getUrl, { headers: auth })).text();
const listBody = await (await fetch(listUrl, { headers: auth })).text();
const bare = Fastify({ logger: false });
bare.get('/bare-get', async (_req, reply) => reply.type('application/json').send(getBody));
bare.get('/bare-list', async (_req, reply) => reply.type('application/json').send(listBody));
const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

// A short warm-up of every target first (as bench/pipeline-cost.ts does): measured at once, the app's
// first run paid for the JIT compiling its path and for the VMs' start settling, which the bare route,
// measured last, did not.
for (const [url, headers] of [
  [getUrl, auth],
  [listUrl, auth],
  [`${bareUrl}/bare-get`, {}],
  [`${bareUrl}/bare-list`, {}],
] as const) {
  await autocannon({ url, connections, duration: 1, headers, workers: 1 });
}

// Namespaced paths are reads of objects or of one namespace; the informers only use cluster-wide paths.
const namespacedReads = () =>
  emulator.requestCount({ method: 'GET', pathPrefix: '/api/v1/namespaces/' }) +
  emulator.requestCount({ method: 'GET', pathPrefix: '/apis/kubevirt.io/v1/namespaces/' });
const before = emulator.requestCount();
const readsBefore = namespacedReads();
const get = await load(getUrl, auth);
const list = await load(listUrl, auth);
const apiDuring = emulator.requestCount() - before;
const readsDuring = namespacedReads() - readsBefore;
// The floor set by the shared request pipeline (TLS-less HTTP, helmet, rate limit, metrics, token
// verification, membership lookup): an authenticated route of this stack that does next to nothing.
const floor = await load(`${base}/v1/instance-types`, auth);
const bareGet = await load(`${bareUrl}/bare-get`, {});
const bareList = await load(`${bareUrl}/bare-list`, {});

const line = (what: string, r: Awaited<ReturnType<typeof load>>, b: Awaited<ReturnType<typeof load>>, bytes: number) =>
  `${what}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms (non-2xx ${r.non2xx}, errors ${r.errors}) | bare fastify, ${bytes} B: ${b.rps.toFixed(0)} req/s, p99 ${b.p99} ms | ratio ${((r.rps / b.rps) * 100).toFixed(1)}%`;
console.log(line('GET /v1/tenants/{t}/vms/{vm}', get, bareGet, getBody.length));
console.log(line('GET /v1/tenants/{t}/vms?limit=50', list, bareList, listBody.length));
console.log(
  `pipeline floor, GET /v1/instance-types (authenticated, no work): ${floor.rps.toFixed(0)} req/s, p99 ${floor.p99} ms; GET by id reaches ${((get.rps / floor.rps) * 100).toFixed(1)}% of it`,
);
console.log(
  `Kubernetes API requests during the runs: ${apiDuring}, of which reads of objects or namespaces: ${readsDuring}` +
    ' (the others re-establish informer watches that client-node closes after 30 s without events)',
);
console.log(`(${count} VMs, ${connections} connections, ${seconds} s per run, load generated from a worker thread, ${process.version})`);
printBenchResult('vm-reads', [
  { figure: 'GET VM by id (auth on, cached) / bare fastify same body', value: get.rps / bareGet.rps, unit: 'ratio', goal: { op: '>=', value: 0.6 } },
  { figure: 'VM list page of 50 / bare fastify same body', value: list.rps / bareList.rps, unit: 'ratio', goal: { op: '>=', value: 0.5 } },
  { figure: 'Kubernetes object reads during the read runs', value: readsDuring, unit: '', goal: { op: '<=', value: 0 } },
]);

await bare.close();
await app.close();
await deps.close();
