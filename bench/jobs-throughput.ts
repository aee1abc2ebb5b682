/**
 * Job engine overhead against BullMQ, not a test:
 *   npm run bench:jobs [-- --n 5000 --rounds 3 --concurrency 50 --producers 50 --count-n 300 --url redis://127.0.0.1:6379]
 * (a) raw BullMQ: add N jobs, a worker with a no-op processor; ops/s.
 * (b) our engine: a no-op one-step kind through the full path (operation created → queued →
 *     worker → operation succeeded); ops/s, per-step runtime overhead and end-to-end latency
 *     p50/p99, and the ratio to (a). Also the overhead at concurrency 1 (no queueing).
 * (c) where our node CPU goes, in the same rounds: the engine on BullMQ with the operation records in
 *     a plain Map (BullMQ plus our service and step runtime, no record write), and the three record writes
 *     of an operation alone (create, start, finish: the Redis store, no queue), at the same widths.
 * (d) Redis commands per operation of both, counted with MONITOR in a pass of its own (MONITOR
 *     slows Redis, so never during the timed rounds): round trips (commands clients sent, a script
 *     call being one, a MULTI ... EXEC one in all) and every command Redis ran (those inside
 *     scripts too), by command name.
 * Redis: a private redis-server on a free loopback port unless --url names one (loopback only):
 * its CPU and command counts are then this bench's alone, not those of whatever else uses Redis.
 * Bounded: every phase stops after 20 s; everything it writes is under a random prefix, deleted.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createBullmqTransport } from '../src/adapters/redis/bullmq-transport.js';
import { createRedisOperationEvents } from '../src/adapters/redis/event-bus.js';
import { createRedisOperationStore } from '../src/adapters/redis/operation-store.js';
import { createRedisClient } from '../src/adapters/redis/redis-connection.js';
import { createMemoryOperationEvents } from '../src/adapters/memory/event-bus.js';
import { newOperationRecord, startStep, succeed } from '../src/domain/operations/operation-lifecycle.js';
import { matchesFilter, type OperationStore } from '../src/domain/operations/operation-store.js';
import type { OperationRecord } from '../src/domain/operations/operation.js';
import type { OperationEvents } from '../src/domain/operations/operation-events.js';
import { makePrincipal } from '../src/domain/auth/principal.js';
import type { Logger } from '../src/domain/operations/logger.js';
import { createOperationService } from '../src/domain/operations/operation-service.js';
import { systemClock } from '../src/domain/shared/ids.js';
import { createJobEngine } from '../src/jobs/job-engine.js';
import { startRedisProcess, type RedisProcess } from '../test/support/processes.js';
import { printBenchResult } from './support/result.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '50' },
    producers: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    'count-n': { type: 'string', default: '300' },
    url: { type: 'string' },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const PRODUCERS = Number(values.producers);
const ROUNDS = Number(values.rounds);
const COUNT_N = Number(values['count-n']);
const PHASE_LIMIT_MS = 20_000;
const ownRedis: RedisProcess | undefined = values.url === undefined ? await startRedisProcess() : undefined;
const URL_ = values.url ?? (ownRedis as RedisProcess).url;
if (!/^redis:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/\d+)?$/.test(URL_)) throw new Error('loopback Redis only');

const prefix = `lp-bench-${randomUUID().slice(0, 8)}`;
const logger: Logger = { info: () => undefined, warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) };
const admin = makePrincipal({ id: 'bench', platformAdmin: true });

function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Runs `produce(i)` for i in [0, n) with `width` calls in flight. */
async function pool(n: number, width: number, produce: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      while (next < n) await produce(next++);
    }),
  );
}

function deadline<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what}: over ${PHASE_LIMIT_MS} ms`)), PHASE_LIMIT_MS).unref()),
  ]);
}

/**
 * Operation records in a Map, neither copied nor serialized: what the engine costs without any record
 * write (the memory adapter copies every record in and out with structuredClone, a cost of its own).
 * The runtime never changes a record in place, so sharing them is safe here.
 */
function costlessStore(): OperationStore {
  const records = new Map<string, OperationRecord>();
  return {
    // As the Redis store, which publishes from its write scripts: the recorder publishes nothing
    // (the memory bus would copy every update with structuredClone, about 10 us per operation).
    publishesChanges: true,
    create: async (r) => void records.set(r.id, r),
    get: async (id) => records.get(id),
    mutate: async (id, change) => {
      const cur = records.get(id);
      if (cur === undefined) return undefined;
      const next = change(cur);
      if (next === undefined) return { operation: cur, changed: false };
      records.set(id, next);
      return { operation: next, changed: true };
    },
    list: async (filter, page) => ({ items: [...records.values()].filter((r) => matchesFilter(r, filter)).slice(0, page.limit) }),
    listChildren: async (parentId) => [...records.values()].filter((r) => r.parentId === parentId),
    deleteExpired: async () => 0,
    outbox: { pending: async () => [], done: async () => undefined },
  };
}

/** Counts what Redis runs between `start` and `stop`, from a MONITOR connection. */
interface CommandCounter {
  start(): void;
  stop(): Promise<{ roundTrips: number; commands: number; byName: Map<string, number> }>;
}

async function commandCounter(): Promise<CommandCounter & { close(): Promise<void> }> {
  const base = new Redis(URL_);
  const monitor = await base.monitor();
  let on = false;
  let roundTrips = 0;
  let commands = 0;
  let byName = new Map<string, number>();
  // A MULTI ... EXEC goes out in one write and comes back in one read: one round trip.
  const inMulti = new Set<string>();
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!on) return;
    const name = String(args[0]).toLowerCase();
    commands += 1;
    if (source !== 'lua') {
      if (name === 'multi') inMulti.add(source);
      else if (name === 'exec') inMulti.delete(source);
      if ((name === 'multi' || !inMulti.has(source)) && name !== 'exec') roundTrips += 1;
    }
    const key = source === 'lua' ? `  ${name} (in scripts)` : name;
    byName.set(key, (byName.get(key) ?? 0) + 1);
  });
  // Every command sent before this PING has been seen once its reply is back on the monitor.
  const flush = async (): Promise<void> => {
    const probe = new Redis(URL_);
    const seen = new Promise<void>((resolve) =>
      monitor.on('monitor', (_t: string, args: string[]) => {
        if (String(args[0]).toLowerCase() === 'echo' && args[1] === 'lp-bench-flush') resolve();
      }),
    );
    await probe.echo('lp-bench-flush');
    await seen;
    await probe.quit();
  };
  return {
    start() {
      inMulti.clear();
      roundTrips = 0;
      commands = 0;
      byName = new Map();
      on = true;
    },
    async stop() {
      await flush();
      on = false;
      // The flush's own ECHO is not the bench's.
      return { roundTrips: roundTrips - 1, commands: commands - 1, byName };
    },
    async close() {
      monitor.disconnect();
      await base.quit();
    },
  };
}

/** Node CPU (user + system) spent per job in the last measured phase, microseconds. */
const cpuPerJob: { raw: number[]; ours: number[]; mapRecords: number[]; recordsAlone: number[] } = {
  raw: [],
  ours: [],
  mapRecords: [],
  recordsAlone: [],
};
type Counted = Awaited<ReturnType<CommandCounter['stop']>>;
const counted: { raw?: Counted; ours?: Counted } = {};

async function rawBullmq(n: number, tag: string, counter?: CommandCounter): Promise<number> {
  const connection = { url: URL_ };
  const queue = new Queue(`raw-${tag}`, { connection, prefix: `${prefix}:raw` });
  let done = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker(`raw-${tag}`, async () => undefined, {
    connection,
    prefix: `${prefix}:raw`,
    concurrency: CONCURRENCY,
    removeOnComplete: { age: 3600 },
  });
  worker.on('completed', () => {
    done += 1;
    if (done === n) resolveAll();
  });
  await worker.waitUntilReady();
  counter?.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(n, PRODUCERS, (i) => queue.add('noop', { i }, { jobId: `j-${tag}-${i}`, removeOnComplete: { age: 3600 } }));
  await deadline(all, 'raw BullMQ');
  const s = (performance.now() - t0) / 1000;
  if (counter !== undefined) counted.raw = await counter.stop();
  const cpu = process.cpuUsage(cpu0);
  if (tag.startsWith('run')) cpuPerJob.raw.push((cpu.user + cpu.system) / n);
  await worker.close();
  await queue.close();
  return n / s;
}

interface EngineRun {
  readonly opsPerSecond: number;
  readonly overheadMs: readonly number[];
  readonly endToEndMs: readonly number[];
}

/** `oneAtATime`: each operation starts after the previous one finished (no queueing). */
async function ourEngine(
  n: number,
  tag: string,
  width: number,
  concurrency: number,
  options: { oneAtATime?: boolean; counter?: CommandCounter; mapRecords?: boolean } = {},
): Promise<EngineRun> {
  const { oneAtATime = false, counter, mapRecords = false } = options;
  const redis = createRedisClient({ url: URL_, logger });
  const p = `${prefix}:ours-${tag}`;
  const store: OperationStore = mapRecords ? costlessStore() : createRedisOperationStore({ redis, prefix: p, publishTo: p });
  const redisEvents = mapRecords ? undefined : createRedisOperationEvents({ redis, prefix: p, logger });
  const events: OperationEvents = redisEvents ?? createMemoryOperationEvents();
  const transport = createBullmqTransport({ url: URL_, prefix: `${p}:bull`, queueName: `ours-${tag}`, logger });
  const engine = createJobEngine({ transport, store, events, clock: systemClock, logger });
  engine.register([
    { kind: 'bench.noop', firstStep: 'noop', retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 }, steps: { noop: async () => ({ type: 'done' }) } },
  ]);
  const service = createOperationService({ store, events, queue: engine, ids: { next: () => randomUUID() }, clock: systemClock, logger });
  const startedAt = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const overheadMs: number[] = [];
  const endToEndMs: number[] = [];
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  engine.onStepFinished((o) => {
    if (o.outcome !== 'done') console.warn(`unexpected outcome ${o.outcome}`);
    overheadMs.push(o.totalMs - o.handlerMs);
    const s = startedAt.get(o.operationId);
    if (s !== undefined) endToEndMs.push(performance.now() - s);
    waiters.get(o.operationId)?.();
    if (overheadMs.length === n) resolveAll();
  });
  await engine.startWorker({ concurrency });
  counter?.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(n, width, async () => {
    const before = performance.now();
    const op = await service.start(admin, { kind: 'bench.noop', tenant: 'bench', target: { type: 'noop', id: 'x' }, input: {} });
    startedAt.set(op.id, before);
    if (oneAtATime) await new Promise<void>((r) => waiters.set(op.id, r));
  });
  await deadline(all, 'our engine');
  const s = (performance.now() - t0) / 1000;
  if (counter !== undefined) counted.ours = await counter.stop();
  const cpu = process.cpuUsage(cpu0);
  if (tag.startsWith('run')) (mapRecords ? cpuPerJob.mapRecords : cpuPerJob.ours).push((cpu.user + cpu.system) / n);
  const opsPerSecond = n / s;
  const ok = (await store.list({ status: 'succeeded' }, { limit: 1 })).items.length === 1;
  if (!ok) throw new Error('operations did not reach succeeded');
  await engine.close();
  await redisEvents?.close();
  await redis.quit();
  return { opsPerSecond, overheadMs: overheadMs.sort((a, b) => a - b), endToEndMs: endToEndMs.sort((a, b) => a - b) };
}

/** The three record writes of a one-step operation (create, start, finish) on the Redis store, no queue. */
async function recordsAlone(n: number, tag: string): Promise<void> {
  const redis = createRedisClient({ url: URL_, logger });
  const p = `${prefix}:records-${tag}`;
  const store = createRedisOperationStore({ redis, prefix: p, publishTo: p });
  const cpu0 = process.cpuUsage();
  await pool(n, PRODUCERS, async () => {
    const id = randomUUID();
    const record = newOperationRecord(
      { id, kind: 'bench.noop', tenant: 'bench', target: { type: 'noop', id: 'x' }, createdBy: admin.id, input: {}, firstStep: 'noop' },
      systemClock.now(),
    );
    await store.create(record);
    await store.mutate(id, (op) => {
      const start = startStep(op, { step: 'noop', generation: 0 }, systemClock.now());
      return start.type === 'skip' ? undefined : start.next;
    });
    await store.mutate(id, (op) => succeed(op, undefined, systemClock.now()));
  });
  const cpu = process.cpuUsage(cpu0);
  if (tag.startsWith('run')) cpuPerJob.recordsAlone.push((cpu.user + cpu.system) / n);
  const done = (await store.list({ status: 'succeeded' }, { limit: 1 })).items.length;
  if (done !== 1) throw new Error('records alone: operations did not reach succeeded');
  await redis.quit();
}

async function redisCpu(): Promise<number> {
  const redis = new Redis(URL_);
  const info = await redis.info('cpu');
  await redis.quit();
  const get = (k: string): number => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 'NaN');
  return get('used_cpu_sys') + get('used_cpu_user');
}

async function cleanup(): Promise<void> {
  const redis = new Redis(URL_);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

const f = (x: number, d = 2): string => x.toFixed(d);

const median = (xs: readonly number[]): number =>
  pct(
    [...xs].sort((a, b) => a - b),
    50,
  );

try {
  console.log(
    `jobs-throughput: n=${N} x ${ROUNDS} rounds, worker concurrency=${CONCURRENCY}, producers=${PRODUCERS}, redis=${URL_}, node=${process.version}`,
  );
  // JIT warm-up of both paths, not measured
  await rawBullmq(2000, 'warm');
  await ourEngine(2000, 'warm', PRODUCERS, CONCURRENCY);
  const raws: number[] = [];
  const runs: EngineRun[] = [];
  let rawCpu = 0;
  let oursCpu = 0;
  for (let r = 0; r < ROUNDS; r += 1) {
    const c0 = await redisCpu();
    raws.push(await rawBullmq(N, `run${r}`));
    const c1 = await redisCpu();
    runs.push(await ourEngine(N, `run${r}`, PRODUCERS, CONCURRENCY));
    const c2 = await redisCpu();
    rawCpu += c1 - c0;
    oursCpu += c2 - c1;
    await ourEngine(N, `run${r}-memory-records`, PRODUCERS, CONCURRENCY, { mapRecords: true });
    await recordsAlone(N, `run${r}`);
    const ratio = (runs.at(-1)?.opsPerSecond ?? 0) / (raws.at(-1) ?? 1);
    console.log(`  round ${r + 1}: raw ${f(raws.at(-1) ?? 0, 0)} jobs/s, ours ${f(runs.at(-1)?.opsPerSecond ?? 0, 0)} ops/s (${f(ratio * 100, 1)}%)`);
  }
  const serial = await ourEngine(Math.min(N, 500), 'serial', 1, 1, { oneAtATime: true });
  const counter = await commandCounter();
  await rawBullmq(COUNT_N, 'count', counter);
  await ourEngine(COUNT_N, 'count', PRODUCERS, CONCURRENCY, { counter });
  await counter.close();
  const raw = median(raws);
  const ours = median(runs.map((x) => x.opsPerSecond));
  const ratio = median(runs.map((x, i) => x.opsPerSecond / (raws[i] ?? Number.NaN)));
  const overhead = runs.flatMap((x) => x.overheadMs).sort((a, b) => a - b);
  const e2e = runs.flatMap((x) => x.endToEndMs).sort((a, b) => a - b);
  console.log(`raw BullMQ no-op (median):           ${f(raw, 0)} jobs/s`);
  console.log(`labplane engine, full path (median): ${f(ours, 0)} ops/s`);
  console.log(`ratio (median of paired rounds):     ${f(ratio * 100, 1)}% of raw BullMQ (goal >= 70%)`);
  console.log(`node CPU per op (median):             raw ${f(median(cpuPerJob.raw), 0)} µs, ours ${f(median(cpuPerJob.ours), 0)} µs`);
  console.log(
    `  of which (same rounds):             engine on BullMQ, records in a plain Map ${f(median(cpuPerJob.mapRecords), 0)} µs; ` +
      `the 3 record writes alone (Redis store) ${f(median(cpuPerJob.recordsAlone), 0)} µs`,
  );
  // The least the full path could cost while it writes the operation record three times: raw BullMQ
  // plus those writes alone, as if our runtime on BullMQ added nothing (per round, then the median).
  const floor = median(cpuPerJob.raw.map((r, i) => (r + (cpuPerJob.recordsAlone[i] ?? Number.NaN)) / r));
  console.log(`  floor (raw BullMQ + the record writes alone): ${f(floor, 2)}x raw BullMQ's node CPU (goal <= 1.4x)`);
  console.log(`redis-server CPU per 1000 ops:        raw ${f((rawCpu / ROUNDS / N) * 1000, 3)} s, ours ${f((oursCpu / ROUNDS / N) * 1000, 3)} s`);
  console.log(
    `step overhead under load:             p50 ${f(pct(overhead, 50))} ms, p99 ${f(pct(overhead, 99))} ms (queueing on a saturated event loop included)`,
  );
  console.log(
    `end-to-end under load:                p50 ${f(pct(e2e, 50))} ms, p99 ${f(pct(e2e, 99))} ms (producers outpace the worker: mostly queue wait)`,
  );
  console.log(
    `step overhead, one op at a time:      p50 ${f(pct(serial.overheadMs, 50))} ms, p99 ${f(pct(serial.overheadMs, 99))} ms (goal p99 < 5 ms)`,
  );
  console.log(`end-to-end, one op at a time:         p50 ${f(pct(serial.endToEndMs, 50))} ms, p99 ${f(pct(serial.endToEndMs, 99))} ms`);
  const per = (c: Counted | undefined, x: number | undefined): number => (c === undefined || x === undefined ? Number.NaN : x / COUNT_N);
  const { raw: cr, ours: co } = counted;
  console.log(
    `Redis round trips per op (MONITOR, ${COUNT_N} ops): raw ${f(per(cr, cr?.roundTrips), 1)}, ours ${f(per(co, co?.roundTrips), 1)}; ` +
      `commands run per op (scripts' included): raw ${f(per(cr, cr?.commands), 1)}, ours ${f(per(co, co?.commands), 1)}`,
  );
  const names = [...new Set([...(cr?.byName.keys() ?? []), ...(co?.byName.keys() ?? [])])].sort();
  for (const name of names) {
    console.log(
      `  ${name.padEnd(34)} raw ${f(per(cr, cr?.byName.get(name) ?? 0), 2).padStart(6)}  ours ${f(per(co, co?.byName.get(name) ?? 0), 2).padStart(6)}`,
    );
  }
  const rawCpuPerOp = median(cpuPerJob.raw);
  const oursCpuPerOp = median(cpuPerJob.ours);
  printBenchResult('jobs', [
    { figure: 'job path / raw BullMQ no-op, ops/s', value: ratio, unit: 'ratio', goal: { op: '>=', value: 0.7 } },
    { figure: 'node CPU per operation / raw BullMQ', value: oursCpuPerOp / rawCpuPerOp, unit: 'x', goal: { op: '<=', value: 1.4 } },
    { figure: 'node CPU per operation at best: raw BullMQ + the record writes alone, / raw', value: floor, unit: 'x' },
    { figure: 'Redis CPU per operation / raw BullMQ', value: oursCpu / rawCpu, unit: 'x' },
    { figure: 'Redis round trips per operation (raw BullMQ: ' + f(per(cr, cr?.roundTrips), 1) + ')', value: per(co, co?.roundTrips), unit: '' },
    { figure: 'Redis commands per operation (raw BullMQ: ' + f(per(cr, cr?.commands), 1) + ')', value: per(co, co?.commands), unit: '' },
    { figure: 'job step overhead, one at a time, p99', value: pct(serial.overheadMs, 99), unit: 'ms', goal: { op: '<=', value: 5 } },
  ]);
} finally {
  await cleanup();
  await ownRedis?.stop();
}
