import { compareOptionalCallPriority, type CallPriority } from '../domain/operations/call-priority.js';
import { backoffMs } from '../domain/shared/backoff.js';
import { jobIdOf, WorkerShutdown, type JobMessage, type JobProcessor, type JobTransport, type QueueCounts } from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/operations/logger.js';
import { systemScheduler, type Scheduler } from '../domain/shared/scheduler.js';

type State = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

interface Entry {
  readonly job: JobMessage;
  /** The operation's rank (see `operationRank`); absent: before every ranked job. */
  readonly rank: CallPriority | undefined;
  state: State;
  /** Its latest turn in the waiting queues (items of an earlier wait are stale). */
  turn: number;
  deliveries: number;
  /** Cancels the entry's pending timer (its delay, redelivery or retention). */
  cancel?: () => void;
  controller?: AbortController;
}

export interface InProcessTransportOptions {
  readonly logger: Logger;
  /** How long finished job ids are remembered (so enqueueing them again is a no-op). Default 1 h. */
  readonly finishedRetentionMs?: number;
  /** Deliveries of a job whose processor rejects before it is given up. Default 5. */
  readonly deliveryAttempts?: number;
  /** First redelivery delay after a processor rejection, doubled each time. Default 1000 ms. */
  readonly redeliveryDelayMs?: number;
  /** Extra wait after aborting jobs at the end of a stop's grace. Default 1000 ms. */
  readonly handBackMs?: number;
  /**
   * Waiting jobs are served by rank (older chains of operations first: a lab's first students'
   * steps before the later students'), except that a job waiting this long goes first, in arrival
   * order, whatever its rank: so the work of an operation started during a long lab waits at most
   * about this much more than it would in arrival order. Default 30000 ms.
   */
  readonly rankWaitLimitMs?: number;
  /**
   * Time for delays, redeliveries and retention. Default real time. A stop's grace stays in real
   * time: it bounds how long a process takes to shut down, and a test's `close()` must not hang
   * on a clock nobody moves.
   */
  readonly scheduler?: Scheduler;
}

/** One wait of a job in the queues (a job waits again after a delay or a redelivery). */
interface Waiting {
  readonly id: string;
  readonly entry: Entry;
  readonly turn: number;
  /** When it started waiting (epoch ms). */
  readonly since: number;
}

/** Negative when `a` is served first: unranked first, then by rank, then by arrival. */
function servedBefore(a: Waiting, b: Waiting): number {
  return compareOptionalCallPriority(a.entry.rank, b.entry.rank) || a.turn - b.turn;
}

/**
 * Waits ordered by `servedBefore`, the first at the root. Own code rather than a package: the two
 * sift loops below are all a priority queue needs here, and a dependency would bring more than that.
 */
class WaitHeap {
  readonly items: Waiting[];

  constructor(items: Waiting[] = []) {
    this.items = items;
    for (let i = (items.length >>> 1) - 1; i >= 0; i -= 1) this.down(i);
  }

  get size(): number {
    return this.items.length;
  }

  push(w: Waiting): void {
    const a = this.items;
    a.push(w);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (servedBefore(a[i]!, a[parent]!) >= 0) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): Waiting | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      this.down(0);
    }
    return top;
  }

  private down(start: number): void {
    const a = this.items;
    for (let i = start; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let first = i;
      if (l < a.length && servedBefore(a[l]!, a[first]!) < 0) first = l;
      if (r < a.length && servedBefore(a[r]!, a[first]!) < 0) first = r;
      if (first === i) return;
      [a[i], a[first]] = [a[first]!, a[i]!];
      i = first;
    }
  }
}

/**
 * A job transport inside this process: same semantics as BullMQ (deterministic ids, delays,
 * concurrency, redelivery when the processor rejects) but not durable: queued and running jobs
 * are lost with the process. For the embedded default without Redis, and tests. Unlike BullMQ's
 * arrival order, waiting jobs are served by their operation's rank (see `rankWaitLimitMs`).
 */
export function createInProcessTransport(options: InProcessTransportOptions): JobTransport {
  const { logger } = options;
  const retentionMs = options.finishedRetentionMs ?? 3_600_000;
  const maxDeliveries = options.deliveryAttempts ?? 5;
  const redeliveryMs = options.redeliveryDelayMs ?? 1_000;
  const handBackMs = options.handBackMs ?? 1_000;
  const rankWaitLimitMs = options.rankWaitLimitMs ?? 30_000;
  const scheduler = options.scheduler ?? systemScheduler;
  const entries = new Map<string, Entry>();
  // Every wait is in both queues: by arrival (to find one waiting past the limit) and by rank (a binary
  // heap: the next to serve at its root). Taken from one, it is stale in the other and skipped there.
  let arrivals: Waiting[] = [];
  let head = 0;
  let byRank = new WaitHeap();
  let turns = 0;
  let waitingNow = 0;
  let processor: JobProcessor | undefined;
  let concurrency = 1;
  let accepting = false;
  let active = 0;
  let idle: Array<() => void> = [];

  const later = (ms: number, fn: () => void): (() => void) => scheduler.after(ms, fn);

  function enqueueWaiting(id: string, entry: Entry): void {
    entry.state = 'waiting';
    delete entry.cancel;
    turns += 1;
    entry.turn = turns;
    waitingNow += 1;
    const w: Waiting = { id, entry, turn: turns, since: scheduler.now().getTime() };
    arrivals.push(w);
    byRank.push(w);
    pump();
  }

  const live = (w: Waiting): boolean => w.entry.state === 'waiting' && w.entry.turn === w.turn && entries.get(w.id) === w.entry;

  /** The next job to run: the oldest wait if it is past the limit, else the first by rank. */
  function next(): Waiting | undefined {
    while (head < arrivals.length && !live(arrivals[head]!)) head += 1;
    const oldest = arrivals[head];
    if (oldest === undefined) return undefined;
    if (scheduler.now().getTime() - oldest.since >= rankWaitLimitMs) {
      head += 1;
      return oldest;
    }
    for (let w = byRank.pop(); w !== undefined; w = byRank.pop()) if (live(w)) return w;
    head += 1;
    return oldest;
  }

  function finish(id: string, entry: Entry, state: 'completed' | 'failed'): void {
    entry.state = state;
    entry.cancel = later(retentionMs, () => {
      if (entries.get(id) === entry) entries.delete(id);
    });
  }

  function pump(): void {
    while (accepting && processor !== undefined && active < concurrency) {
      const w = next();
      if (w === undefined) break;
      run(w.id, w.entry, processor);
    }
    if (head > 1024 && head * 2 > arrivals.length) {
      arrivals = arrivals.slice(head);
      head = 0;
    }
    if (byRank.size > 1024 && byRank.size > 2 * waitingNow) byRank = new WaitHeap(byRank.items.filter(live));
  }

  function run(id: string, entry: Entry, p: JobProcessor): void {
    entry.state = 'active';
    waitingNow -= 1;
    entry.deliveries += 1;
    const controller = new AbortController();
    entry.controller = controller;
    active += 1;
    Promise.resolve()
      .then(() => p.process(entry.job, controller.signal))
      .then(
        (result) => finish(id, entry, result.operationFailed === undefined ? 'completed' : 'failed'),
        (err: unknown) => {
          if (entry.deliveries < maxDeliveries) {
            const delay = backoffMs(entry.deliveries - 1, { baseMs: redeliveryMs, maxMs: Number.POSITIVE_INFINITY, jitter: 'equal' });
            logger.warn({ err, jobId: id, delay }, 'job processing failed; redelivering');
            entry.state = 'delayed';
            entry.cancel = later(delay, () => enqueueWaiting(id, entry));
            return;
          }
          finish(id, entry, 'failed');
          return p.lost(entry.job, 'processing failed too many times').catch((e: unknown) => {
            logger.error({ err: e, jobId: id }, 'recording a lost job failed');
          });
        },
      )
      .finally(() => {
        delete entry.controller;
        active -= 1;
        if (active === 0) {
          const waiters = idle;
          idle = [];
          for (const w of waiters) w();
        }
        pump();
      });
  }

  function whenIdle(ms: number): Promise<boolean> {
    if (active === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const cancel = systemScheduler.after(ms, () => resolve(false));
      idle.push(() => {
        cancel();
        resolve(true);
      });
    });
  }

  async function stop(graceMs: number): Promise<void> {
    accepting = false;
    if (await whenIdle(graceMs)) return;
    for (const e of entries.values()) e.controller?.abort(new WorkerShutdown());
    if (!(await whenIdle(handBackMs))) logger.warn({ active }, 'some jobs ignored the shutdown signal');
  }

  return {
    name: 'in-process',
    durable: false,

    async add(job, { delayMs, rank }) {
      const id = jobIdOf(job);
      if (entries.has(id)) return;
      const entry: Entry = { job, rank, state: 'delayed', deliveries: 0, turn: 0 };
      entries.set(id, entry);
      if (delayMs > 0) entry.cancel = later(delayMs, () => enqueueWaiting(id, entry));
      else enqueueWaiting(id, entry);
    },

    async remove(job) {
      const id = jobIdOf(job);
      const entry = entries.get(id);
      if (entry === undefined) return 'removed';
      if (entry.state === 'active') return 'active';
      if (entry.state === 'waiting') waitingNow -= 1;
      entry.cancel?.();
      entries.delete(id);
      return 'removed';
    },

    async wake(job) {
      const id = jobIdOf(job);
      const entry = entries.get(id);
      if (entry?.state !== 'delayed') return false;
      entry.cancel?.();
      enqueueWaiting(id, entry);
      return true;
    },

    async start(p, opts) {
      processor = p;
      concurrency = opts.concurrency;
      accepting = true;
      pump();
    },

    stop: ({ graceMs }) => stop(graceMs),

    async counts(): Promise<readonly QueueCounts[]> {
      const c = { queue: 'in-process', waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 };
      for (const e of entries.values()) c[e.state] += 1;
      return [c];
    },

    async close() {
      await stop(0);
      const pending = [...entries.values()].filter((e) => e.state === 'waiting' || e.state === 'delayed').length;
      if (pending > 0) logger.warn({ pending }, 'in-process job queue closed with unfinished jobs; they are lost');
      for (const e of entries.values()) e.cancel?.();
      entries.clear();
      arrivals = [];
      byRank = new WaitHeap();
      head = 0;
      waitingNow = 0;
    },
  };
}
