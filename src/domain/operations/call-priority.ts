import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A place in the queue for upstream calls: creation times (epoch ms) from the oldest ancestor
 * operation to the calling one (`OperationRecord.rank`), compared element by element, a prefix
 * first. So a lab's operation goes before its students, and each student's whole chain (its VM's
 * creation, its identity) before the next student's: calls are served depth first, oldest first.
 */
export type CallPriority = readonly number[];

const priority = new AsyncLocalStorage<CallPriority>();

/**
 * Runs `fn` with its calls to rate-limited upstreams ranked by `value`: the job runtime runs each
 * step with its operation's rank, so budgets that queue by priority (`createTokenBucket`'s
 * `priority` option) serve older chains of operations first, and operations started by the step
 * inherit it. Calls made outside any step (API requests, informers, loops) have none and go before
 * every step's.
 */
export function withCallPriority<T>(value: CallPriority, fn: () => Promise<T>): Promise<T> {
  return priority.run(value, fn);
}

/** The priority of the calling step, if any (see withCallPriority). */
export function currentCallPriority(): CallPriority | undefined {
  return priority.getStore();
}

/**
 * The rank of an operation's work (its steps' calls, its jobs): its recorded rank when a step started
 * it, else its own creation time (a top-level operation).
 */
export function operationRank(op: { readonly rank?: readonly number[]; readonly createdAt: string }): CallPriority {
  return op.rank ?? [Date.parse(op.createdAt)];
}

/** `compareCallPriority` where work outside any step (no priority) goes before every step's. */
export function compareOptionalCallPriority(a: CallPriority | undefined, b: CallPriority | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return compareCallPriority(a, b);
}

/** Negative when `a` goes first: element by element, then the shorter (an ancestor) first. */
export function compareCallPriority(a: CallPriority, b: CallPriority): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
