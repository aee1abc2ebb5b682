// `npm run bench`: every bench in bench/ at a small size, each in a process of its own (one after
// the other: they measure the machine, so never side by side), and ONE table of their figures with
// the goals of issue 17, from each bench's last line `BENCH_RESULT {json}` (bench/support/result.ts).
// The fault run (`npm run fault-run`) is not a bench: it checks behaviour under faults, over minutes.
// Usage: npm run bench [-- --only jobs,api-memory --full]
//   --full: the sizes the goals are stated for (the 500-student lab, longer load runs): many minutes.
import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { imageSettings } from './support/image-settings.js';
import { formatGoal, formatValue, goalMet, parseBenchResults, type BenchFigure } from './support/result.js';

interface Bench {
  readonly name: string;
  readonly file: string;
  readonly small: readonly string[];
  readonly full: readonly string[];
  /** Builds the API in its own process: runs under the image's Node flags (the others start theirs, or measure the worker). */
  readonly api?: boolean;
}

const BENCHES: readonly Bench[] = [
  { name: 'pipeline', file: 'bench/pipeline-cost.ts', small: ['--seconds', '2', '--rounds', '1', '--pieces', 'none'], full: [], api: true },
  { name: 'vm-reads', file: 'bench/vm-reads.ts', small: ['--seconds', '3', '--vms', '200'], full: [], api: true },
  { name: 'tenant-get', file: 'bench/tenant-get.ts', small: ['--seconds', '3'], full: [], api: true },
  { name: 'tracing', file: 'bench/tracing-cost.ts', small: ['--seconds', '3', '--rounds', '1'], full: [] },
  { name: 'graphql-flood', file: 'bench/graphql-flood.ts', small: ['--seconds', '3'], full: [], api: true },
  { name: 'jobs', file: 'bench/jobs-throughput.ts', small: ['--n', '1000', '--rounds', '3', '--count-n', '200'], full: [] },
  { name: 'identity-writes', file: 'bench/identity-writes.ts', small: ['--students', '10'], full: ['--students', '50'] },
  // dist/ as the image runs it (built first, ~30 s): the goal is the production process's RSS.
  { name: 'api-memory', file: 'bench/api-memory.ts', small: ['--vms', '10000', '--dist'], full: ['--vms', '10000', '--dist'] },
  // 100 students: the ARM write budget's minimum is then ~20 s; the goal's 500 take minutes (--full).
  { name: 'lab-provision', file: 'bench/lab-provision.ts', small: ['--students', '100'], full: ['--students', '500'] },
];

const { values } = parseArgs({ options: { only: { type: 'string' }, full: { type: 'boolean', default: false } } });
const only = values.only === undefined ? undefined : new Set(values.only.split(','));
const chosen = BENCHES.filter((b) => only === undefined || only.has(b.name));
if (only !== undefined && chosen.length !== only.size) {
  throw new Error(`unknown bench in --only; known: ${BENCHES.map((b) => b.name).join(', ')}`);
}

/**
 * The Node flags the image runs the API with (the Dockerfile's CMD): a bench that builds the API in its
 * own process runs under them, so the API is measured as deployed (young generation capped, no
 * allocation-site pretenuring), and the baselines beside it run under the same flags. The worker keeps
 * Node's defaults, and so does the jobs bench.
 */
const NODE_FLAGS = imageSettings().flags;
const flagsOf = (b: Bench): readonly string[] => (b.api === true ? NODE_FLAGS : []);

/** Runs one bench on this Node (the project's Node 24) with tsx; resolves with its output and exit code. */
function run(b: Bench): Promise<{ code: number | null; output: string; stderr: string; seconds: number }> {
  const t0 = performance.now();
  const args = [...flagsOf(b), '--import', 'tsx', b.file, ...(values.full ? b.full : b.small)];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      process.stdout.write(c);
    });
    // The benches' own diagnostics (warnings of the stack under load) stay out of the way unless the bench fails.
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
      stderr += c.toString();
    });
    child.on('close', (code) => resolve({ code, output, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

interface Row {
  readonly bench: string;
  readonly figure: BenchFigure | undefined;
  readonly note?: string;
}

const rows: Row[] = [];
const t0 = performance.now();
for (const b of chosen) {
  console.log(`\n=== ${b.name}: node ${[...flagsOf(b), b.file, ...(values.full ? b.full : b.small)].join(' ')}`);
  const r = await run(b);
  const results = parseBenchResults(r.output);
  if (r.code !== 0 || results.length === 0) {
    // The whole error goes to the log; the table names it by its message line (an uncaught error's
    // stack would otherwise leave only its last frames there).
    console.log(`--- ${b.name} failed (exit ${r.code}); its error output:\n${r.stderr.trim()}\n---`);
    const lines = r.output.trim().split('\n');
    const message = lines.find((l) => /^\s*(\w*Error|Error)\b.*:/.test(l)) ?? lines.slice(-3).join(' | ');
    rows.push({ bench: b.name, figure: undefined, note: `failed (exit ${r.code}): ${message.trim().slice(0, 200)}` });
    continue;
  }
  for (const res of results) for (const f of res.figures) rows.push({ bench: b.name, figure: f });
  console.log(`(${b.name}: ${r.seconds.toFixed(0)} s)`);
}

const header = ['bench', 'figure', 'value', 'goal', 'met?'];
const table = rows.map((r) => {
  if (r.figure === undefined) return [r.bench, r.note ?? '', '', '', 'n/a'];
  const met = goalMet(r.figure);
  return [
    r.bench,
    r.figure.figure,
    formatValue(r.figure.value, r.figure.unit),
    formatGoal(r.figure.goal, r.figure.unit),
    met === undefined ? '' : met ? 'yes' : 'NO',
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
console.log('');
console.log(line(header));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const row of table) console.log(line(row));
const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `\n${availableParallelism()} cores (${cpu}), ${process.version}, the API under ${NODE_FLAGS.join(' ')}, ${values.full ? 'full' : 'small'} sizes, ${((performance.now() - t0) / 1000).toFixed(0)} s in all`,
);
process.exit(rows.some((r) => r.figure === undefined) ? 1 : 0);
