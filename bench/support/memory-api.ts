// The API process of bench/api-memory.ts: the service as `npm start` builds it (config from the
// environment: KUBECONFIG to the seeded emulator), listening, its caches synced; once the VM cache
// holds EXPECT_VMS VMs (every VM listed once, as a list request does), it collects garbage and prints
// one JSON line of its memory. Run with --expose-gc.
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';
import type * as AppFromDeps from '../../src/main/app-from-deps.js';
import type * as Config from '../../src/main/config.js';
import type * as DepsModule from '../../src/main/deps.js';
import type * as LoggerModule from '../../src/main/logger.js';

// MEMORY_API_FROM=<file URL of dist/>: the built service (dist/, as the image runs it); this file
// is then transpiled to plain JavaScript by bench/api-memory.ts and run without any loader (Node's
// own type stripping would load its transpiler, about 10 MiB, into the process measured).
// Otherwise the sources through tsx, as `npm start`.
type Modules = [typeof AppFromDeps, typeof Config, typeof DepsModule, typeof LoggerModule];
const root = process.env['MEMORY_API_FROM'] ?? new URL('../../src/', import.meta.url).href;
const [{ buildAppFromDeps }, { loadConfig }, { buildDeps }, { createLogger }] = (await Promise.all(
  ['main/app-from-deps.js', 'main/config.js', 'main/deps.js', 'main/logger.js'].map((m) => import(new URL(m, root).href)),
)) as Modules;
const expected = Number(process.env['EXPECT_VMS'] ?? '10000');
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
};

// What one parsed copy of these VM objects costs on the heap, for the copies check: a page of the
// emulator's own list answer (the objects the cache holds), parsed as a list or watch answer is.
async function heapOfOneCopy(n: number): Promise<number> {
  const server = /server: "([^"]+)"/.exec(readFileSync(process.env['KUBECONFIG'] ?? '', 'utf8'))?.[1];
  const body = await (await fetch(`${server}/apis/kubevirt.io/v1/virtualmachines?limit=${n}`)).text();
  await settle();
  const before = process.memoryUsage().heapUsed;
  const held = (JSON.parse(body) as { items: unknown[] }).items;
  await settle();
  const after = process.memoryUsage().heapUsed;
  return held.length === 0 ? Number.NaN : (after - before) / held.length;
}

const copyBytes = expected === 0 ? Number.NaN : await heapOfOneCopy(2_000);
await settle();
const idle = process.memoryUsage();
const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '0' });
const deps = await buildDeps(config, createLogger(config));
const app = await buildAppFromDeps(deps);
await app.listen({ host: '127.0.0.1', port: 0 });
const t0 = performance.now();
let cached = 0;
for (;;) {
  cached = (await deps.vms.repo.list()).length;
  if (cached >= expected) break;
  if (performance.now() - t0 > 300_000) throw new Error(`only ${cached} of ${expected} VMs cached after 300 s`);
  await new Promise((r) => setTimeout(r, 500));
}
await settle();
const m = process.memoryUsage();
// MEMORY_API_HEAP_SNAPSHOT=<file>: a heap snapshot once measured (open it in Chrome's DevTools).
const snapshotTo = process.env['MEMORY_API_HEAP_SNAPSHOT'];
if (snapshotTo !== undefined && snapshotTo !== '') writeHeapSnapshot(snapshotTo);
process.stdout.write(
  `${JSON.stringify({
    msg: 'memory',
    cached,
    syncSeconds: (performance.now() - t0) / 1000,
    rss: m.rss,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    idleHeapUsed: idle.heapUsed,
    copyBytes,
    // Where V8's heap reserve is: per space, the memory it holds (committed) and what is in use.
    spaces: Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, [s.physical_space_size, s.space_used_size]])),
  })}\n`,
);
await app.close();
await deps.close();
process.exit(0);
