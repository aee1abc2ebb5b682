// CPU and GC cost of a Node flag (not a test): the embedded stack with 200 VMs cached, GET one VM
// 30,000 times and a 50-item list page 10,000 times through fastify's inject (50 in flight), and
// prints the process's CPU time per request, GCs and GC time per 1,000 requests. CPU time, not
// req/s, so that it holds on a busy machine; run it alternately with and without the flag, e.g.
//   npm exec -- node --max-semi-space-size=8 --import tsx bench/gc-cost.ts
// (the image's API flag, README "Memory"), and compare.
import { PerformanceObserver } from 'node:perf_hooks';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { benchTenantBody } from './support/tenant.js';
import { benchVmObject } from './support/vm.js';

const TENANT = 'bench-vms';
const config = loadConfig({ LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
const deps = await buildDeps(config, createLogger(config));
const emulator = deps.emulator!;
const app = await buildAppFromDeps(deps);
await app.ready();
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const auth = { authorization: `Bearer ${token}` };
const c = await app.inject({
  method: 'POST',
  url: '/v1/tenants',
  headers: { ...auth, 'content-type': 'application/json' },
  payload: JSON.stringify(benchTenantBody(TENANT, 'b', 600)),
});
if (c.statusCode !== 201) throw new Error(c.body);
for (let i = 0; i < 200; i++)
  emulator.store.create(
    'virtualmachines.kubevirt.io',
    benchVmObject(TENANT, `vm-${String(i).padStart(4, '0')}`, { ownerId: `s${i % 40}`, lab: `lab-${i % 5}`, labels: {} }),
  );
for (;;) {
  const r = await app.inject({ url: `/v1/tenants/${TENANT}/vms?limit=500`, headers: auth });
  if ((JSON.parse(r.body) as { items: unknown[] }).items.length >= 200) break;
  await new Promise((r) => setTimeout(r, 250));
}
let gcMs = 0,
  gcs = 0;
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    gcMs += e.duration;
    gcs++;
  }
}).observe({ entryTypes: ['gc'] });
async function run(url: string, n: number) {
  // 50 in flight at a time, as concurrent connections would be.
  gcMs = 0;
  gcs = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (i++ < n) {
        const r = await app.inject({ url, headers: auth });
        if (r.statusCode !== 200) throw new Error(String(r.statusCode));
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 50));
  return { cpuUsPerReq: (cpu.user + cpu.system) / n, gcMsPer1k: (gcMs / n) * 1000, gcsPer1k: (gcs / n) * 1000, wallMs: wall };
}
await run(`/v1/tenants/${TENANT}/vms/vm-0100`, 5000);
const get = await run(`/v1/tenants/${TENANT}/vms/vm-0100`, 30000);
const list = await run(`/v1/tenants/${TENANT}/vms?limit=50`, 10000);
console.log(JSON.stringify({ flags: process.execArgv.filter((a) => a.startsWith('--max')), get, list }));
await app.close();
await deps.close();
process.exit(0);
