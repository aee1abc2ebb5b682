// Load benchmark (not a test): what each piece of the shared request pipeline costs. One API app
// with every piece on, one per piece with that piece left out (buildAppFromDeps' bench-only
// argument; no setting reaches it), and a bare fastify route answering the same body, all in this
// process over the same deps. Each serves GET one cached VM (authenticated) and /healthz (public);
// rounds alternate the order and the table shows medians. The cost of a piece is how much faster
// the app answers without it. "auth" keeps the hooks but answers a fixed principal (no token
// verification, no membership lookup); routing cannot be left out (the bare route has it too).
// Then, with every piece on: a VM list page of 50 beside a bare route with the same body, and the
// GraphQL `vm` query (the same fields) beside the same REST read. Each run also records the CPU
// time of this thread (where every server runs; the load comes from a worker thread) per answered
// request: on a shared, loaded machine req/s swing with the neighbours, CPU per request much less.
// With --profile, each load runs once more under V8's sampling profiler and a table says which piece its CPU went to.
// Usage: node --import tsx bench/pipeline-cost.ts [--seconds 3 --connections 50 --rounds 2 --pieces all|none --profile --spin-us 40]
import os from 'node:os';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import mercurius from 'mercurius';
import { Registry } from 'prom-client';
import { PIPELINE_PIECES, type PipelinePiece } from '../src/api/app.js';
import { graphqlRuntime } from '../src/api/graphql/graphql-runtime.js';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { profiled, type Attribution } from './support/cpu-attribution.js';
import { printBenchResult, type BenchFigure } from './support/result.js';
import { benchTenantBody } from './support/tenant.js';
import { benchVmObject } from './support/vm.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = arg('seconds', 3);
const connections = arg('connections', 50);
const rounds = arg('rounds', 2);
const piecesArg = args.indexOf('--pieces');
const eachPiece = piecesArg < 0 || args[piecesArg + 1] !== 'none';
const profile = args.includes('--profile');
// --spin-us N: a bare route that also spins N µs of CPU per request, beside the bare route: what a
// server that only does more work per request loses on this closed-loop load (the kernel's share grows).
const spinUs = arg('spin-us', 0);
const VMS = 50;
const TENANT = 'bench-pipeline';

interface Run {
  readonly rps: number;
  /** CPU time of this thread (every server's) per answered request, µs. */
  readonly cpuUs: number;
  readonly requests: number;
}
type Load = { readonly method?: 'GET' | 'POST'; readonly headers?: Record<string, string>; readonly body?: string };

async function measure(url: string, load: Load = {}): Promise<Run> {
  // A worker thread generates the load, so the servers keep their own event loop.
  const before = process.threadCpuUsage();
  const r = await autocannon({ url, connections, duration: seconds, workers: 1, ...load });
  const cpu = process.threadCpuUsage(before);
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors; statuses ${JSON.stringify(r.statusCodeStats)}`);
  return { rps: r.requests.average, cpuUs: (cpu.user + cpu.system) / Math.max(1, r.requests.total), requests: r.requests.total };
}

// Shedding registered with its bound off (its hook runs; eleven apps starting in one process would
// otherwise read as an overloaded loop), as bench/vm-reads.ts does; the rate limit high enough
// never to answer 429 here (its store is still consulted on every request).
const config = loadConfig({ LOG_LEVEL: 'error', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
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
// VMs written straight into the simulated cluster (as bench/vm-reads.ts does): vm-0 is the one
// read, all of them make the list page.
for (let i = 0; i < VMS; i++) {
  emulator.store.create(
    'virtualmachines.kubevirt.io',
    benchVmObject(TENANT, `vm-${i}`, { ownerId: `student-${i}`, lab: 'lab-0', labels: { course: 'c1' } }),
  );
}
const vmPath = `/v1/tenants/${TENANT}/vms/vm-0`;
const listPath = `/v1/tenants/${TENANT}/vms?limit=${VMS}`;
const t0 = performance.now();
for (;;) {
  const res = await fetch(`${base}${listPath}&state=Running`, { headers: auth });
  if (res.status === 200 && ((await res.json()) as { items: unknown[] }).items.length >= VMS) break;
  if (performance.now() - t0 > 120_000) throw new Error(`the VMs are not Running after 120 s (last ${res.status})`);
  await new Promise((r) => setTimeout(r, 200));
}

const fixed = await deps.principals.resolve(token);
if (eachPiece) {
  for (const piece of PIPELINE_PIECES) await serve(`without ${piece}`, new Set([piece]));
  await serve('without auth', new Set(), { resolve: async () => fixed });
}
// The app's frame alone: every piece that can be left out left out, and a fixed principal. What
// it loses to the bare route is the part of the gap no piece explains (the contract's routes,
// the request logger, the use case and its response).
await serve('every piece off', new Set(PIPELINE_PIECES), { resolve: async () => fixed });
const frameBase = servers.at(-1)!.base;

const vmRes = await fetch(`${base}${vmPath}`, { headers: auth });
const vmBody = await vmRes.text();
if (vmRes.status !== 200) throw new Error(`GET VM: ${vmRes.status} ${vmBody}`);
const healthBody = await (await fetch(`${base}/healthz`)).text();
const listRes = await fetch(`${base}${listPath}`, { headers: auth });
const listBody = await listRes.text();
if (listRes.status !== 200 || (JSON.parse(listBody) as { items: unknown[] }).items.length !== VMS) throw new Error(`list: ${listRes.status}`);
// The GraphQL read of the same VM, asking for the fields the REST body has.
const vmQuery = {
  query: `query Vm($tenant: ID!, $name: ID!) { vm(tenant: $tenant, name: $name) { id tenant name owner lab imageRef { scope name } instanceType
    cpu memoryGi diskGi storageClass arc running runStrategy labels { key value } state reason message availableActions liveMigratable
    restartRequired deleting nodeName createdAt version } }`,
  variables: { tenant: TENANT, name: 'vm-0' },
};
const graphqlLoad: Load = { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(vmQuery) };
const gq = await fetch(`${base}/graphql`, graphqlLoad);
const gqBody = (await gq.json()) as { data: { vm?: { state?: string } }; errors?: unknown };
if (gq.status !== 200 || gqBody.data.vm?.state !== 'Running') throw new Error(`graphql: ${gq.status} ${JSON.stringify(gqBody.errors)}`);
const bare = Fastify({ logger: false });
bare.get(vmPath, async (_req, reply) => reply.type('application/json').send(vmBody));
bare.get('/healthz', async (_req, reply) => reply.type('application/json').send(healthBody));
bare.get(`/v1/tenants/${TENANT}/vms`, async (_req, reply) => reply.type('application/json').send(listBody));
bare.get('/spin', async (_req, reply) => {
  const until = performance.now() + spinUs / 1000;
  while (performance.now() < until);
  return reply.type('application/json').send(vmBody);
});
const bareBase = await bare.listen({ host: '127.0.0.1', port: 0 });
// The GraphQL library's own ceiling: mercurius alone, on our schema and with the options that
// shape its work on a read (graphql-jit from a document's third sighting, batches allowed), answering
// the same query with the VM as a constant: no auth, hooks, logger or limits.
const vmData = gqBody.data.vm;
const bareGraphql = Fastify({ logger: false });
await bareGraphql.register(mercurius, {
  schema: graphqlRuntime.printSchema(servers[0]!.app.graphql.schema),
  resolvers: { Query: { vm: () => vmData } },
  jit: 3,
  allowBatchedQueries: true,
  path: '/graphql',
});
const bareGraphqlBase = await bareGraphql.listen({ host: '127.0.0.1', port: 0 });
const bareGq = (await (await fetch(`${bareGraphqlBase}/graphql`, graphqlLoad)).json()) as { data?: { vm?: unknown } };
if (JSON.stringify(bareGq.data?.vm) !== JSON.stringify(vmData)) throw new Error('bare mercurius answered another body');
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
const results = new Map(targets.map((t) => [t.name, { vm: [] as Run[], health: [] as Run[] }]));
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? targets : [...targets].reverse();
  for (const t of order) {
    const r = results.get(t.name)!;
    r.vm.push(await measure(`${t.base}${vmPath}`, { headers: auth }));
    r.health.push(await measure(`${t.base}/healthz`));
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const medianOf = (runs: Run[]) => ({ rps: median(runs.map((r) => r.rps)), cpu: median(runs.map((r) => r.cpuUs)) });
const on = { vm: medianOf(results.get('all on')!.vm), health: medianOf(results.get('all on')!.health) };
const bareR = { vm: medianOf(results.get('bare fastify')!.vm), health: medianOf(results.get('bare fastify')!.health) };
const rows = targets.map((t) => {
  const r = results.get(t.name)!;
  const vm = medianOf(r.vm);
  const health = medianOf(r.health);
  return {
    app: t.name,
    'GET VM req/s': vm.rps.toFixed(0),
    'vs all on': pct(vm.rps / on.vm.rps),
    'vs bare': pct(vm.rps / bareR.vm.rps),
    'CPU µs/req': vm.cpu.toFixed(1),
    'µs saved': (on.vm.cpu - vm.cpu).toFixed(1),
    '/healthz req/s': health.rps.toFixed(0),
    'healthz vs bare': pct(health.rps / bareR.health.rps),
    'healthz CPU µs/req': health.cpu.toFixed(1),
    'healthz µs saved': (on.health.cpu - health.cpu).toFixed(1),
  };
});
console.table(rows);
console.log(
  '(a piece costs what "vs all on" exceeds 100% without it, and the CPU per request it saves; CPU is this thread\'s, ' +
    `the servers' alone; medians of ${rounds} alternating rounds, ${connections} connections, ${seconds} s per run, load from a worker thread, ${process.version})`,
);

// With every piece on: each figure beside its baseline, alternating, CPU per request as well.
// Figures without a goal say where a gap's floor is: the app's frame alone (every piece off) beside
// the bare route, and mercurius alone beside the bare REST route.
const figures: { name: string; app: () => Promise<Run>; baseline: () => Promise<Run>; baselineName: string; goal?: number }[] = [
  {
    name: 'GET VM by id',
    goal: 0.6,
    app: () => measure(`${base}${vmPath}`, { headers: auth }),
    baseline: () => measure(`${bareBase}${vmPath}`),
    baselineName: 'bare fastify',
  },
  {
    name: '/healthz',
    goal: 0.8,
    app: () => measure(`${base}/healthz`),
    baseline: () => measure(`${bareBase}/healthz`),
    baselineName: 'bare fastify',
  },
  {
    name: `VM list page of ${VMS}`,
    goal: 0.5,
    app: () => measure(`${base}${listPath}`, { headers: auth }),
    baseline: () => measure(`${bareBase}${listPath}`),
    baselineName: 'bare fastify',
  },
  {
    name: 'GraphQL vm query',
    goal: 0.85,
    app: () => measure(`${base}/graphql`, graphqlLoad),
    baseline: () => measure(`${base}${vmPath}`, { headers: auth }),
    baselineName: 'the same REST read',
  },
  {
    name: 'GET VM by id, every piece off',
    app: () => measure(`${frameBase}${vmPath}`, { headers: auth }),
    baseline: () => measure(`${bareBase}${vmPath}`),
    baselineName: 'bare fastify',
  },
  {
    name: '/healthz, every piece off',
    app: () => measure(`${frameBase}/healthz`),
    baseline: () => measure(`${bareBase}/healthz`),
    baselineName: 'bare fastify',
  },
  {
    name: 'GraphQL vm query, bare mercurius',
    app: () => measure(`${bareGraphqlBase}/graphql`, graphqlLoad),
    baseline: () => measure(`${bareBase}${vmPath}`),
    baselineName: 'bare fastify REST',
  },
];
if (spinUs > 0)
  figures.push({
    name: `bare fastify spinning ${spinUs} µs`,
    app: () => measure(`${bareBase}/spin`),
    baseline: () => measure(`${bareBase}${vmPath}`),
    baselineName: 'bare fastify',
  });
const cpuOf = new Map<string, { app: number; baseline: number }>();
const figureRows = [];
const benchFigures: BenchFigure[] = [];
for (const f of figures) {
  await f.app();
  await f.baseline();
  const app: Run[] = [];
  const baseline: Run[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      app.push(await f.app());
      baseline.push(await f.baseline());
    } else {
      baseline.push(await f.baseline());
      app.push(await f.app());
    }
  }
  const a = { rps: median(app.map((r) => r.rps)), cpu: median(app.map((r) => r.cpuUs)) };
  const b = { rps: median(baseline.map((r) => r.rps)), cpu: median(baseline.map((r) => r.cpuUs)) };
  cpuOf.set(f.name, { app: a.cpu, baseline: b.cpu });
  benchFigures.push({
    figure: `${f.name} / ${f.baselineName} (req/s)`,
    value: a.rps / b.rps,
    unit: 'ratio',
    ...(f.goal === undefined ? {} : { goal: { op: '>=' as const, value: f.goal } }),
  });
  figureRows.push({
    figure: f.name,
    'req/s': a.rps.toFixed(0),
    baseline: f.baselineName,
    'baseline req/s': b.rps.toFixed(0),
    'req/s ratio': pct(a.rps / b.rps),
    'CPU µs/req': a.cpu.toFixed(0),
    'baseline CPU µs/req': b.cpu.toFixed(0),
    'CPU ratio (baseline/app)': pct(b.cpu / a.cpu),
  });
}
// The best our GraphQL read could do on mercurius: mercurius' own CPU per request plus what our
// pipeline adds to a REST read (our REST read's CPU less the bare route's), against our REST read.
const rest = cpuOf.get('GET VM by id')!;
const gqlAlone = cpuOf.get('GraphQL vm query, bare mercurius')!;
const gqlCeiling = rest.app / (gqlAlone.app + (rest.app - rest.baseline));
benchFigures.push({ figure: 'GraphQL vm query / the same REST read, at best on mercurius (CPU)', value: gqlCeiling, unit: 'ratio' });
console.table(figureRows);
console.log(
  `GraphQL at best on mercurius: ${pct(gqlCeiling)} of the same REST read (mercurius alone ${gqlAlone.app.toFixed(0)} µs, plus what our ` +
    `pipeline adds to a REST read, ${(rest.app - rest.baseline).toFixed(0)} µs, against our REST read's ${rest.app.toFixed(0)} µs of CPU per request)`,
);
console.log(
  `(all pieces on unless the figure says otherwise; medians of ${rounds} alternating rounds after a warm-up; CPU is this thread's time per answered request, the servers' alone; ${os.availableParallelism()} cores, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')})`,
);

if (profile) {
  // Where the CPU of a request goes, by piece: each load once more, under the sampling profiler.
  const loads: { name: string; run: () => Promise<Run> }[] = [
    { name: 'GET VM', run: () => measure(`${base}${vmPath}`, { headers: auth }) },
    { name: 'GET VM, bare', run: () => measure(`${bareBase}${vmPath}`) },
    { name: '/healthz', run: () => measure(`${base}/healthz`) },
    { name: '/healthz, bare', run: () => measure(`${bareBase}/healthz`) },
    { name: 'GraphQL vm', run: () => measure(`${base}/graphql`, graphqlLoad) },
  ];
  const attributions: { name: string; a: Attribution }[] = [];
  for (const l of loads) attributions.push({ name: l.name, a: await profiled(async () => (await l.run()).requests) });
  const pieces = [...new Set(attributions.flatMap((x) => x.a.pieces.map((p) => p.piece)))];
  const cell = (a: Attribution, piece: string) => (a.pieces.find((p) => p.piece === piece)?.us ?? 0).toFixed(1);
  console.table([
    ...pieces.map((piece) => ({ piece, ...Object.fromEntries(attributions.map((x) => [x.name, cell(x.a, piece)])) })),
    { piece: 'all (µs per request)', ...Object.fromEntries(attributions.map((x) => [x.name, x.a.totalUs.toFixed(1)])) },
  ]);
  console.log(
    "(CPU µs per request of this thread by piece, from V8's sampling profiler: each sample is charged to the piece of the " +
      'frame nearest the leaf that has one; the profiler slows the thread by a few percent; bench/support/cpu-attribution.ts)',
  );
}

printBenchResult('pipeline', benchFigures);
await bare.close();
await bareGraphql.close();
for (const s of servers) await s.app.close();
await deps.close();
