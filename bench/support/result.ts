/**
 * The machine-readable last line of a bench, which `npm run bench` (bench/run-all.ts) parses:
 *   BENCH_RESULT {"bench":"jobs","figures":[{"figure":"...","value":0.73,"unit":"ratio","goal":{"op":">=","value":0.7}}]}
 * One line, so a bench's human output may change freely without breaking the runner.
 */
export interface BenchGoal {
  readonly op: '<=' | '>=';
  readonly value: number;
}

export interface BenchFigure {
  readonly figure: string;
  readonly value: number;
  /** How to show the value: 'ratio' as a percentage, 'x' as a multiple, else a unit appended. */
  readonly unit: string;
  readonly goal?: BenchGoal;
}

export interface BenchResult {
  readonly bench: string;
  readonly figures: readonly BenchFigure[];
}

export const BENCH_RESULT_PREFIX = 'BENCH_RESULT ';

export function printBenchResult(bench: string, figures: readonly BenchFigure[]): void {
  const result: BenchResult = { bench, figures };
  console.log(`${BENCH_RESULT_PREFIX}${JSON.stringify(result)}`);
}

/** The BENCH_RESULT lines of a bench's output (usually one). */
export function parseBenchResults(output: string): BenchResult[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(BENCH_RESULT_PREFIX))
    .map((l) => JSON.parse(l.slice(BENCH_RESULT_PREFIX.length)) as BenchResult);
}

export function goalMet(f: BenchFigure): boolean | undefined {
  if (f.goal === undefined || !Number.isFinite(f.value)) return undefined;
  return f.goal.op === '<=' ? f.value <= f.goal.value : f.value >= f.goal.value;
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  if (unit === 'x') return `${value.toFixed(2)}×`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return unit === '' ? value.toFixed(digits) : `${value.toFixed(digits)} ${unit}`;
}

export function formatGoal(g: BenchGoal | undefined, unit: string): string {
  return g === undefined ? '' : `${g.op === '<=' ? '≤' : '≥'} ${formatValue(g.value, unit)}`;
}
