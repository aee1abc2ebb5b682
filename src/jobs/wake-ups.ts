import type { JobTransport } from '../domain/operations/job-queue.js';
import type { Logger } from '../domain/operations/logger.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import { isTerminal, type OperationTarget } from '../domain/operations/operation.js';
import { systemClock, type Clock } from '../domain/shared/ids.js';

/**
 * Something that tells of changes to targets (a VM's watch events): calls `tell` with the target
 * that changed, and returns a function that stops it.
 */
export type WakeSource = (tell: (target: OperationTarget) => void) => () => void;

export interface WakeUps {
  /**
   * Runs the pending re-check of `operationId` now rather than at the end of its backoff. Only a
   * step that is re-checking (`cursor.wait`) is woken: a retry after an error keeps its delay.
   * Resolves true when a delayed job was made ready.
   */
  wake(operationId: string): Promise<boolean>;
  /** Wakes the re-checks of every open operation on `target` (coalesced, never throws). */
  wakeTarget(target: Pick<OperationTarget, 'type' | 'id'>): void;
  /** Wakes the parent of a child operation that just finished (coalesced, never throws). */
  wakeParent(parentId: string): void;
  /** How many targets and operations it remembers for coalescing (bounded by one interval's). */
  tracked(): number;
  /** Stops pending coalesced wake-ups. */
  close(): void;
}

export interface WakeUpsDeps {
  readonly store: Pick<OperationStore, 'get' | 'list'>;
  readonly transport: Pick<JobTransport, 'wake'>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * At most one wake-up per operation or target in this interval, ms (default 500): a lab whose
   * fifty students finish together wakes its parent twice, not fifty times, and a VM whose watch
   * events come in a burst costs one look at the operation store. The last event of a burst is
   * never lost: it wakes at the end of the interval.
   */
  readonly coalesceMs?: number;
  /** Timer, replaceable in tests. Default `setTimeout` (unref'd). */
  readonly schedule?: (ms: number, fn: () => void) => { cancel(): void };
}

/** How many open operations of one target are woken at most (a VM has one or two). */
const PER_TARGET = 20;

const realTimer = (ms: number, fn: () => void): { cancel(): void } => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

/**
 * Early wake-ups of waiting steps. A re-check backs off up to its kind's cap (15 s by default), so
 * without them a VM that became ready just after a look waits up to that long; with them, the watch
 * event or the child's end that the step waits for runs the re-check at once. They only ever move a
 * delayed job earlier: the step still decides, so a spurious wake-up costs one look, and a lost one
 * (another process, a dropped event) leaves the backoff as the safety net.
 */
export function createWakeUps(deps: WakeUpsDeps): WakeUps {
  const { store, transport, logger } = deps;
  const coalesceMs = deps.coalesceMs ?? 500;
  const schedule = deps.schedule ?? realTimer;
  const nowMs = (): number => (deps.clock ?? systemClock).now().getTime();
  /** Per key: when the last wake-up ran, and the trailing one waiting for the interval to end. */
  const recent = new Map<string, { at: number; trailing?: { cancel(): void } }>();
  let closed = false;

  async function wake(operationId: string): Promise<boolean> {
    const op = await store.get(operationId);
    if (op === undefined || isTerminal(op.status)) return false;
    const c = op.cursor;
    if (c.state !== 'pending' || c.wait === undefined) return false;
    return transport.wake({ kind: op.kind, operationId, step: c.step, generation: c.generation });
  }

  async function wakeTargetNow(target: Pick<OperationTarget, 'type' | 'id'>): Promise<void> {
    const page = await store.list({ target, status: ['queued', 'running'] }, { limit: PER_TARGET });
    for (const op of page.items) await wake(op.id);
  }

  /** Runs `fn` now, or once at the end of the key's interval when it ran less than that ago. */
  function coalesced(key: string, fn: () => Promise<unknown>): void {
    if (closed) return;
    const run = (): void => {
      recent.set(key, { at: nowMs() });
      fn().catch((err: unknown) => logger.warn({ err, key }, 'an early wake-up failed; the step re-checks at its own pace'));
    };
    prune();
    const last = recent.get(key);
    const since = last === undefined ? Infinity : nowMs() - last.at;
    if (since >= coalesceMs) return run();
    if (last?.trailing !== undefined) return;
    recent.set(key, { at: last?.at ?? 0, trailing: schedule(coalesceMs - since, run) });
  }

  /**
   * Forgets keys whose interval has ended, at most once an interval, so the map stays as small as
   * the keys of the last interval (every operation woken once would otherwise stay for ever).
   */
  let prunedAt = -Infinity;
  function prune(): void {
    const now = nowMs();
    if (recent.size < 1_000 || now - prunedAt < coalesceMs) return;
    prunedAt = now;
    for (const [key, v] of recent) if (v.trailing === undefined && now - v.at >= coalesceMs) recent.delete(key);
  }

  return {
    wake,
    wakeTarget(target) {
      coalesced(`t:${target.type}:${target.id}`, () => wakeTargetNow(target));
    },
    wakeParent(parentId) {
      coalesced(`o:${parentId}`, () => wake(parentId));
    },
    tracked: () => recent.size,
    close() {
      closed = true;
      for (const v of recent.values()) v.trailing?.cancel();
      recent.clear();
    },
  };
}
