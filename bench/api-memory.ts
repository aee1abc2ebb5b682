// Memory benchmark (not a test): the API process with 10,000 VMs in its cache. The Kubernetes API
// emulator runs in a process of its own, its store seeded directly (bench/support/seeded-emulator.ts),
// so the API process (bench/support/memory-api.ts, built as `npm start` builds it) holds only what
// it caches. Prints its RSS and heap once every VM is cached, and the copies check: the heap the
// cache takes per VM over the heap of one parsed copy of the same object (about 1 when the informer
// keeps one copy; the derived VM records the list builds come on top).
// --dist: the API as the image runs it (dist/, built first with `npm run build`), not through tsx,
// whose transpiler and source maps take memory of their own, with the Node flags of the Dockerfile's
// CMD and the environment of its runtime stage (read from the Dockerfile, so they cannot drift).
// --snapshot <prefix>: heap snapshots of the API process once measured, <prefix>-<vms>.heapsnapshot.
// --node-options '<flags>': NODE_OPTIONS of the API process (e.g. '--max-semi-space-size=8');
// --env K=V (repeatable): more of its environment; --no-build: measure dist/ as it is.
// Usage: node --import tsx bench/api-memory.ts [--vms 10000 --dist --snapshot /tmp/api]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { parseArgs } from 'node:util';
import { writeKubeconfig } from '../test/startup/support.js';
import { spawnProc, startRedisProcess, until } from '../test/support/processes.js';
import { imageSettings } from './support/image-settings.js';
import { printBenchResult } from './support/result.js';

const { values } = parseArgs({
  options: {
    vms: { type: 'string', default: '10000' },
    dist: { type: 'boolean', default: false },
    build: { type: 'boolean', default: true },
    snapshot: { type: 'string' },
    'node-options': { type: 'string', default: '' },
    env: { type: 'string', multiple: true, default: [] },
  },
  allowNegative: true,
});
const vms = Number(values.vms);
const fromDist = values.dist;
if (fromDist && values.build) execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
// With --dist the API process runs plain JavaScript, as the image does: the harness transpiled here.
const harness = fromDist ? transpiledHarness() : 'bench/support/memory-api.ts';
const image = fromDist ? imageSettings() : { flags: [], env: {} };

function transpiledHarness(): string {
  const source = readFileSync('bench/support/memory-api.ts', 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2023 } });
  const file = join(mkdtempSync(join(tmpdir(), 'labplane-memory-')), 'memory-api.mjs');
  writeFileSync(file, outputText);
  return file;
}
const node = process.execPath;
// A real cluster needs durable jobs: a private redis-server, as the fault run has.
const redis = await startRedisProcess();

type Measured = Record<string, number> & { spaces?: Record<string, [number, number]> };

/** Starts the seeded emulator and the API against it; resolves with the API's memory line. */
async function measure(seed: number): Promise<Measured> {
  const emulator = spawnProc('emulator', node, ['--import', 'tsx', 'bench/support/seeded-emulator.ts'], { SEED_VMS: String(seed) });
  let api: ReturnType<typeof spawnProc> | undefined;
  try {
    const url = await until(
      () => {
        if (!emulator.running) throw new Error(emulator.tail());
        const line = emulator.logs.find((l) => l['msg'] === 'kube emulator listening');
        return line === undefined ? undefined : String(line['url']);
      },
      300_000,
      () => `the seeded emulator\n${emulator.tail()}`,
    );
    const loader = fromDist ? [] : ['--import', 'tsx'];
    api = spawnProc('api', node, ['--expose-gc', ...image.flags, ...loader, harness], {
      ...image.env,
      ...(fromDist ? { MEMORY_API_FROM: pathToFileURL('dist/').href } : {}),
      ...Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])),
      KUBECONFIG: writeKubeconfig(url),
      AUTH_TENANT_IDS: '00000000-0000-4000-8000-0000000000aa',
      AUTH_AUDIENCES: 'api://labplane-bench',
      EMBEDDED_WORKER: 'false',
      REDIS_URL: redis.url,
      EXPECT_VMS: String(seed),
      NODE_OPTIONS: values['node-options'],
      ...(values.snapshot === undefined ? {} : { MEMORY_API_HEAP_SNAPSHOT: `${values.snapshot}-${seed}.heapsnapshot` }),
    });
    const a = api;
    return await until(
      () => {
        // The harness writes its memory line and exits: read the line before asking whether it still runs.
        const measured = a.logs.find((l) => l['msg'] === 'memory') as Measured | undefined;
        if (measured === undefined && !a.running) throw new Error(a.tail(20));
        return measured;
      },
      600_000,
      () => `the API to cache ${seed} VMs\n${a.tail()}`,
    );
  } finally {
    await api?.stop(5_000);
    await emulator.stop(5_000);
  }
}

try {
  const empty = await measure(0);
  const m = await measure(vms);
  const mib = (b: number) => b / 1024 / 1024;
  const cacheBytes = (m['heapUsed']! - empty['heapUsed']!) / vms;
  const copies = cacheBytes / m['copyBytes']!;
  console.log(
    `API process (${fromDist ? `dist/, as the image runs it${image.flags.length > 0 ? ` with ${image.flags.join(' ')}` : ''}` : 'sources through tsx'}) with ${m['cached']} VMs cached (synced in ${m['syncSeconds']!.toFixed(1)} s), after a full GC:`,
  );
  console.log(
    `  RSS ${mib(m['rss']!).toFixed(0)} MiB, heap used ${mib(m['heapUsed']!).toFixed(0)} MiB of ${mib(m['heapTotal']!).toFixed(0)} MiB, external ${mib(m['external']!).toFixed(0)} MiB`,
  );
  console.log(
    `  with no VM: RSS ${mib(empty['rss']!).toFixed(0)} MiB, heap used ${mib(empty['heapUsed']!).toFixed(0)} MiB; the VMs add RSS ${mib(m['rss']! - empty['rss']!).toFixed(0)} MiB, heap ${mib(m['heapUsed']! - empty['heapUsed']!).toFixed(0)} MiB`,
  );
  console.log(
    `  heap per cached VM ${(cacheBytes / 1024).toFixed(1)} KiB (the informer's object, its indexes and the VM records a list derives); ` +
      `one parsed copy of the object ${(m['copyBytes']! / 1024).toFixed(1)} KiB: ${copies.toFixed(2)} copies' worth`,
  );
  for (const [label, r] of [['with the VMs', m] as const, ['with no VM', empty] as const]) {
    const spaces = Object.entries(r.spaces ?? {}).filter(([, [held]]) => held > 1024 * 1024);
    console.log(
      `  V8 spaces ${label}, MiB held/used: ${spaces.map(([n, [held, used]]) => `${n} ${mib(held).toFixed(0)}/${mib(used).toFixed(0)}`).join(', ')}`,
    );
  }
  printBenchResult('api-memory', [
    { figure: `API RSS with ${vms.toLocaleString('en')} VMs cached`, value: mib(m['rss']!), unit: 'MiB', goal: { op: '<=', value: 300 } },
    { figure: `API heap used with ${vms.toLocaleString('en')} VMs cached`, value: mib(m['heapUsed']!), unit: 'MiB' },
    { figure: 'cache heap per VM / one parsed copy of it', value: copies, unit: 'x' },
  ]);
} finally {
  await redis.stop();
}
process.exit(0);
