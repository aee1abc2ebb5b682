// Load benchmark (not a test): what each piece of the shared request pipeline costs. One API app
// with every piece on, one per piece with that piece left out (buildAppFromDeps' bench-only
// argument; no setting reaches it), and a bare fastify route answering the same body, all in this
// process over the same deps. Each serves GET one cached VM (authenticated) and /healthz (public);
// rounds alternate the order and the table shows medians. The cost of a piece is how much faster
// the app answers without it. "auth" keeps the hooks but answers a fixed principal (no token
// verification, no membership lookup); routing cannot be left out (the bare route has it too).
// Usage: node --import tsx bench/pipeline-cost.ts [--seconds 3 --connections 50 --rounds 2]
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { PIPELINE_PIECES, type PipelinePiece } from '../src/api/app.js';
import { virtualMachineObject } from '../src/adapters/kubernetes/vm-objects.js';
import { uuidV5 } from '../src/domain/shared/ids.js';
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
const seconds = arg('seconds', 3);
const connections = arg('connections', 50);
const rounds = arg('rounds', 2);
const TENANT = 'bench-pipeline';

async function rps(url: string, headers: Record<string, string>): Promise<number> {
  // A worker thread generates the load, so the servers keep their own event loop.
  const r = await autocannon({ url, connections, duration: seconds, headers, workers: 1 });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return r.requests.average;
}

// Shedding registered with its bound off (its hook runs; eleven apps starting in one process would
// otherwise read as an overloaded loop), as bench/vm-reads.ts does; the rate limit high enough
// never to answer 429 here (its store is still consulted on every request).
const config = loadConfig({ LOG_LEVEL: 'error', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '1000000' });
const deps = await buildDeps(config, createLogger(config));
const emulator = deps.emulator;
if (emulator === undefined) throw new Error('the benchmark needs the simulated cluster');

const servers: { name: string; app: FastifyInstance; base: string }[] = [];
async function serve(name: string, without: ReadonlySet<PipelinePiece>, principals = deps.principals) {
  // Each app registers its metrics in a registry of its own (names are unique per registry).
  const app = await buildAppFromDeps({ ...deps, principals, metrics: new Registry() }, { benchWithout: without });
  servers.push({ name, app, base: await app.listen({ host: '127.0.0.1', port: 0 }) });
}
await serve('all on', new Set());
const base = servers[0]!.base;
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const auth = { authorization: `Bearer ${token}` };
const created = await fetch(`${base}/v1/tenants`, {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify(benchTenantBody(TENANT, 'pipeline bench tenant', 10)),
});
if (created.status !== 201) throw new Error(`tenant: ${created.status} ${await created.text()}`);
emulator.store.create(
  'virtualmachines.kubevirt.io',
  virtualMachineObject({
    tenant: TENANT,
    name: 'vm-0',
    id: uuidV5(`vm:${TENANT}/vm-0`),
    ownerId: 'student-0',
    lab: 'lab-0',
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    source: { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
    instanceType: 'small',
    cpu: 1,
    memoryGi: 2,
    diskGi: 10,
    storageClass: 'kv-standard',
    arc: false,
    running: true,
    labels: {},
  }) as never,
);
const vmPath = `/v1/tenants/${TENANT}/vms/vm-0`;
const t0 = performance.now();
for (;;) {
  const res = await fetch(`${base}${vmPath}`, { headers: auth });
  if (res.status === 200 && ((await res.json()) as { state?: string }).state === 'Running') break;
  if (performance.now() - t0 > 60_000) throw new Error(`the VM is not Running after 60 s (last ${res.status})`);
  await new Promise((r) => setTimeout(r, 200));
}

for (const piece of PIPELINE_PIECES) await serve(`without ${piece}`, new Set([piece]));
const fixed = await deps.principals.resolve(token);
await serve('without auth', new Set(), { resolve: async () => fixed });

const vmRes = await fetch(`${base}${vmPath}`, { headers: auth });
const vmBody = await vmRes.text();
if (vmRes.status !== 200) throw new Error(`GET VM: ${vmRes.status} ${vmBody}`);
const healthBody = await (await fetch(`${base}/healthz`)).text();
const bare = Fastify({ logger: false });
bare.get(vmPath, async (_req, reply) => reply.type('application/json').send(vmBody));
bare.get('/healthz', async (_req, reply) => reply.type('application/json').send(healthBody));
const bareBase = await bare.listen({ host: '127.0.0.1', port: 0 });
const targets = [...servers.map((s) => ({ name: s.name, base: s.base })), { name: 'bare fastify', base: bareBase }];
const headerBytes = async (url: string, headers: Record<string, string>) => {
  const res = await fetch(url, { headers });
  await res.text();
  return [...res.headers].reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
};
console.log(
  `response headers, all on: GET VM ${await headerBytes(`${base}${vmPath}`, auth)} B (body ${vmBody.length} B), /healthz ${await headerBytes(`${base}/healthz`, {})} B (body ${healthBody.length} B)`,
);

// A short warm-up run per target first, so no app is measured before the JIT compiled its path.
for (const t of targets) {
  await autocannon({ url: `${t.base}${vmPath}`, connections, duration: 1, headers: auth, workers: 1 });
  await autocannon({ url: `${t.base}/healthz`, connections, duration: 1, workers: 1 });
}
const results = new Map(targets.map((t) => [t.name, { vm: [] as number[], health: [] as number[] }]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const r = results.get(t.name)!;
    r.vm.push(await rps(`${t.base}${vmPath}`, auth));
    r.health.push(await rps(`${t.base}/healthz`, {}));
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const on = results.get('all on')!;
const bareR = results.get('bare fastify')!;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const rows = targets.map((t) => {
  const r = results.get(t.name)!;
  const vm = median(r.vm);
  const health = median(r.health);
  return {
    app: t.name,
    'GET VM req/s': vm.toFixed(0),
    'vs all on': pct(vm / median(on.vm)),
    'vs bare': pct(vm / median(bareR.vm)),
    '/healthz req/s': health.toFixed(0),
    'healthz vs all on': pct(health / median(on.health)),
    'healthz vs bare': pct(health / median(bareR.health)),
  };
});
console.table(rows);
console.log(
  '(a piece costs what "vs all on" exceeds 100% without it; medians of ' +
    `${rounds} alternating rounds, ${connections} connections, ${seconds} s per run, load from a worker thread, ${process.version})`,
);

printBenchResult('pipeline', [
  {
    figure: 'GET VM by id (auth on, cached) / bare fastify same body',
    value: median(on.vm) / median(bareR.vm),
    unit: 'ratio',
    goal: { op: '>=', value: 0.6 },
  },
  { figure: '/healthz / bare fastify', value: median(on.health) / median(bareR.health), unit: 'ratio', goal: { op: '>=', value: 0.8 } },
]);
await bare.close();
for (const s of servers) await s.app.close();
await deps.close();
