// Kubernetes writes per lab student for Arc identity (not a test): a lab of N students with Arc on,
// on the embedded default (the simulated cluster counts every request it serves), then per student
// VM the writes to its VirtualMachine object (what `vm.identity` writes there: its identity phases)
// and to its cloud-init Secrets (the token scrub: without update rights on a tenant's Secrets the
// scrubbed copy replaces the first by delete and create, and the staged copy is deleted).
// Usage: node --import tsx bench/identity-writes.ts [--students 20 --connect-after-ms 1000]
import { parseArgs } from 'node:util';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { printBenchResult } from './support/result.js';
import { benchTenantBody } from './support/tenant.js';

const { values } = parseArgs({
  options: { students: { type: 'string', default: '20' }, 'connect-after-ms': { type: 'string', default: '1000' } },
});
const students = Number(values.students);
const config = loadConfig({ LOG_LEVEL: 'error', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
const deps = await buildDeps(config, createLogger(config), {
  // The machine appears before it connects: the identity job looks at least once before it is connected.
  simAzure: { appearAfterMs: 200, connectAfterMs: Number(values['connect-after-ms']), extensionInstallMs: 500 },
});
const em = deps.emulator;
if (em === undefined) throw new Error('the benchmark needs the simulated cluster');
const app = await buildAppFromDeps(deps);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
await deps.jobs.engine.startWorker({ concurrency: 16 });
deps.background.start();
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });

const tenant = 'bench-identity';
const created = await post('/v1/tenants', benchTenantBody(tenant, 'Identity bench tenant', students + 10));
if (created.status !== 201) throw new Error(`tenant: ${created.status} ${await created.text()}`);
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const t0 = performance.now();
const res = await post(`/v1/tenants/${tenant}/labs`, {
  name: 'identity',
  template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', arc: true },
  students: Array.from({ length: students }, (_, i) => ({ id: id(i + 1), displayName: `Student ${i + 1}` })),
});
if (res.status !== 202) throw new Error(`lab: ${res.status} ${await res.text()}`);
const opId = ((await res.json()) as { id: string }).id;
let op: { status: string; result?: { summary?: { ready?: number } } };
for (;;) {
  op = (await (await fetch(`${base}/v1/operations/${opId}`, { headers })).json()) as typeof op;
  if (['succeeded', 'failed', 'canceled'].includes(op.status)) break;
  if (performance.now() - t0 > 600_000) throw new Error('the lab did not finish within 600 s');
  await new Promise((r) => setTimeout(r, 250));
}
if (op.status !== 'succeeded' || op.result?.summary?.ready !== students) throw new Error(`lab ended ${op.status}: ${JSON.stringify(op.result)}`);

const vms = em.store.list('virtualmachines.kubevirt.io', { namespace: tenant }) as Array<{ metadata: { name: string } }>;
const writes = (pathPrefix: string) => ['POST', 'PUT', 'PATCH', 'DELETE'].reduce((n, method) => n + em.requestCount({ method, pathPrefix }), 0);
const perVm = vms.map((vm) => writes(`/apis/kubevirt.io/v1/namespaces/${tenant}/virtualmachines/${vm.metadata.name}`));
// The Secrets' creates are POSTs to the collection, shared by every VM: counted for all, per student.
const secretWrites =
  writes(`/api/v1/namespaces/${tenant}/secrets`) +
  ['POST', 'DELETE'].reduce((n, method) => n + em.requestCount({ method, pathPrefix: `/api/v1/namespaces/${config.controlNamespace}/secrets` }), 0);
const mean = perVm.reduce((a, b) => a + b, 0) / perVm.length;
const max = Math.max(...perVm);
console.log(`lab of ${students} students with Arc on: ${op.status} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
console.log(`writes to each student's VirtualMachine after its create (identity phases): mean ${mean.toFixed(2)}, max ${max}`);
console.log(
  `cloud-init Secret writes per student (stage, place, scrub: create and delete, no update rights): ${(secretWrites / students).toFixed(2)}`,
);
printBenchResult('identity-writes', [
  { figure: 'Kubernetes writes per lab student (identity state, max)', value: max, unit: '', goal: { op: '<=', value: 3 } },
  { figure: 'cloud-init Secret writes per lab student (incl. scrub)', value: secretWrites / students, unit: '' },
]);
await app.close();
await deps.jobs.engine.stop({ graceMs: 0 });
await deps.close();
process.exit(0);
