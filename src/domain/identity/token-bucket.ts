import { setTimeout as sleepFor } from 'node:timers/promises';
import { compareOptionalCallPriority, type CallPriority } from '../operations/call-priority.js';
import { UpstreamUnavailableError } from '../shared/errors.js';
import type { CodeWithStatus } from '../shared/error-codes.js';
import { systemClock, type Clock } from '../shared/ids.js';

export interface TokenBucketOptions {
  /** Sustained refill, tokens per second (> 0). */
  readonly ratePerSecond: number;
  /** Capacity: tokens available at once after a quiet period (>= 1). The bucket starts full. */
  readonly burst: number;
  readonly clock?: Clock;
  /** Waits `ms` milliseconds (default a real timer; tests pair it with a manual clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Longest a caller of {@link TokenBucket.take} may wait, in ms (default: no limit). A caller that
   * would wait longer gets UpstreamUnavailableError at once, without taking a token.
   */
  readonly maxWaitMs?: number;
  /** Code of that error (default `CLIENT_BUDGET_EXHAUSTED`). */
  readonly throttledCode?: CodeWithStatus<503>;
  /**
   * The priority of the caller of {@link TokenBucket.take} (`compareCallPriority`: lower goes first;
   * undefined goes before any). Without it, waiters are served in arrival order. With it, callers
   * that must wait queue by priority, then by arrival: the job runtime gives each step its
   * operation's rank (`currentCallPriority`), so a chain of operations that has started finishes
   * its calls before later ones start theirs, instead of every step of every operation queueing
   * behind the first steps of all the others.
   */
  readonly priority?: () => CallPriority | undefined;
}

/**
 * A token bucket: `burst` tokens, refilled at `ratePerSecond`. Waiters are served first come,
 * first served: each {@link take} reserves the next token (the balance may go negative) and waits
 * until that token is due; or, with the `priority` option, in priority order.
 */
export interface TokenBucket {
  /** Resolves once the caller holds a token. */
  take(): Promise<void>;
  /** Takes a token if one is available now (and the bucket is not paused); never waits. */
  tryTake(): boolean;
  /** Milliseconds until the next caller would get a token (0 = now). */
  nextAvailableInMs(): number;
  /**
   * Holds every caller until `epochMs` (the upstream said `Retry-After`) and leaves at most one token
   * at that instant, so calls resume at the sustained rate, not in a burst. Later deadlines win.
   */
  pauseUntil(epochMs: number): void;
  /** Tokens in the bucket now; negative while callers wait for reserved tokens. */
  available(): number;
}

/** How long after a token is due a waiting caller goes (see `take`). */
export const MARGIN_MS = 1;

export function createTokenBucket(options: TokenBucketOptions): TokenBucket {
  const { ratePerSecond: rate, burst } = options;
  if (!(rate > 0) || !(burst >= 1)) throw new RangeError('a token bucket needs ratePerSecond > 0 and burst >= 1');
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number) => sleepFor(Math.ceil(ms)).then(() => undefined));
  const maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
  const now = () => clock.now().getTime();
  let tokens = burst;
  let last = now();
  let pausedUntil = 0;

  const refill = (t: number) => {
    if (t > last) {
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
      last = t;
    }
  };
  /** `last` may lie in the future (a pause): nothing refills before it. */
  const delayAt = (t: number) => Math.max(0, last - t) + (tokens >= 1 ? 0 : ((1 - tokens) / rate) * 1000);

  /** Sleeps until `epochMs` by the clock (a clock that stands still while sleeping ends it: test fakes). */
  const sleepUntil = async (epochMs: number) => {
    for (let at = now(); at < epochMs; ) {
      await sleep(epochMs - at);
      const after = now();
      if (after === at) return;
      at = after;
    }
  };

  const throttled = (delay: number) =>
    new UpstreamUnavailableError(options.throttledCode ?? 'CLIENT_BUDGET_EXHAUSTED', 'Too many upstream calls are queued; try again later.', {
      retryAfterSeconds: Math.ceil(delay / 1000),
      details: { clientSide: true },
    });

  /** Reserves the next token and waits until it is due (first come, first served). */
  async function reserve(): Promise<void> {
    const t = now();
    refill(t);
    const delay = delayAt(t);
    if (delay > maxWaitMs) {
      throw throttled(delay);
    }
    tokens -= 1;
    // Timers may fire early against the clock (they count from a cached loop time): sleep again
    // until the token is really due, or an upstream bucket of the same size would still lack it.
    // One millisecond past the due instant: a bucket upstream that refills at the same rate has
    // then surely refilled the token (its sums of fractional tokens round either way).
    if (delay > 0) await sleepUntil(t + delay + MARGIN_MS);
    if (pausedUntil > now()) await sleepUntil(pausedUntil + MARGIN_MS);
  }

  // Callers waiting by priority: kept sorted, the next to serve last (a few hundred at most, so a
  // sorted array's insertion costs less than a heap library's dependency). One pump reserves one
  // token at a time and hands it to whoever is first when it is due, so a caller arriving meanwhile
  // with a lower priority number still goes ahead.
  interface Waiter {
    readonly priority: CallPriority | undefined;
    readonly seq: number;
    /** Past this instant (epoch ms) it is refused instead, as a caller that would wait longer than maxWaitMs is. */
    readonly deadline: number;
    resolve(): void;
    reject(err: unknown): void;
  }
  const waiting: Waiter[] = [];
  let arrivals = 0;
  let pumping = false;
  const before = (a: Pick<Waiter, 'priority' | 'seq'>, b: Pick<Waiter, 'priority' | 'seq'>) => {
    const order = compareOptionalCallPriority(a.priority, b.priority);
    return order < 0 || (order === 0 && a.seq < b.seq);
  };

  async function pump(): Promise<void> {
    pumping = true;
    try {
      while (waiting.length > 0) {
        try {
          await reserve();
        } catch (err) {
          waiting.pop()?.reject(err);
          continue;
        }
        waiting.pop()?.resolve();
        // Callers that later arrivals kept waiting past maxWaitMs are refused, taking no token (one
        // first in line when its token comes is served: it waited longer, but it has its token).
        const t = now();
        for (let i = waiting.length - 1; i >= 0; i -= 1) {
          const w = waiting[i]!;
          if (w.deadline >= t) continue;
          waiting.splice(i, 1);
          w.reject(throttled(((waiting.length - i + 1) * 1000) / rate));
        }
      }
    } finally {
      pumping = false;
    }
  }

  function takeInOrder(priority: CallPriority | undefined): Promise<void> {
    const t = now();
    refill(t);
    if (waiting.length === 0 && !pumping && t >= last && tokens >= 1 && pausedUntil <= t) {
      tokens -= 1;
      return Promise.resolve();
    }
    const me = { priority, seq: arrivals++, deadline: t + maxWaitMs };
    // Its wait: while callers wait, the pump holds a reservation for the first of them, and
    // delayAt counts the token after it; this caller gets the reserved one if nobody is ahead of
    // it, else one more per caller ahead.
    let ahead = 0;
    for (const w of waiting) if (before(w, me)) ahead += 1;
    const delay = waiting.length === 0 ? delayAt(t) : Math.max(0, delayAt(t) + ((ahead - 1) * 1000) / rate);
    if (delay > maxWaitMs) return Promise.reject(throttled(delay));
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { ...me, resolve, reject };
      let i = waiting.length;
      while (i > 0 && before(waiting[i - 1]!, w)) i -= 1;
      waiting.splice(i, 0, w); // the next to serve stays last
      if (!pumping) void pump();
    });
  }

  return {
    take() {
      if (options.priority === undefined) return reserve();
      return takeInOrder(options.priority());
    },
    tryTake() {
      const t = now();
      refill(t);
      if (t < last || tokens < 1) return false;
      tokens -= 1;
      return true;
    },
    nextAvailableInMs() {
      const t = now();
      refill(t);
      return delayAt(t);
    },
    pauseUntil(epochMs) {
      refill(now());
      if (epochMs <= last) return;
      pausedUntil = epochMs;
      last = epochMs;
      tokens = Math.min(tokens, 1);
    },
    available() {
      refill(now());
      return tokens;
    },
  };
}
