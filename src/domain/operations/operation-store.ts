import type { Page, PageRequest } from '../shared/page.js';
import type { OperationRecord, OperationStatus } from './operation.js';

/** Default time finished operations are kept: 7 days, in milliseconds. */
export const DEFAULT_OPERATION_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

export interface OperationFilter {
  readonly tenant?: string;
  readonly kind?: string;
  /** One status or any of several. */
  readonly status?: OperationStatus | readonly OperationStatus[];
  readonly target?: { readonly type: string; readonly id: string };
  readonly parentId?: string;
  /** Only operations without a parent (what clients started, not the children of a lab or an evacuation). */
  readonly topLevel?: boolean;
}

export interface MutateResult {
  readonly operation: OperationRecord;
  /** False when the change function returned undefined (nothing written, nothing to publish). */
  readonly changed: boolean;
}

/**
 * A change to apply atomically. It receives the current record and returns the next one, or
 * undefined for no change. It may run several times when a concurrent writer wins a race, so it
 * must be pure (capture decisions in the caller, let the last call win).
 */
export type OperationChange = (current: OperationRecord) => OperationRecord | undefined;

/**
 * The outbox of finished operations: the write that makes an operation terminal (a `mutate` that
 * finishes it, or a `create` of a finished record) also records its id here, atomically, so what
 * must follow a finish (webhook events) survives a crash right after the write. Whoever handled
 * an entry marks it done; a drain takes what stayed pending for too long.
 */
export interface OperationOutbox {
  /** Ids of entries recorded before `before` and not done, oldest first, at most `limit`. */
  pending(before: Date, limit: number): Promise<readonly string[]>;
  /** Marks entries done (removes them); unknown ids are ignored. */
  done(ids: readonly string[]): Promise<void>;
}

/**
 * Where operation records live (Redis, or memory in the embedded default and tests).
 *
 * Invariants every implementation keeps (the contract suite checks them):
 * - `create` of an existing id throws ConflictError `OPERATION_EXISTS` and writes nothing;
 * - `mutate` is atomic per record (compare-and-set on a version): no update is ever lost;
 * - `list` returns newest first (`operationListKey`), paged with `pageByKey` cursor semantics;
 *   `accept` is an extra predicate (visibility) applied before paging, so pages stay full;
 * - records are returned as copies: changing one never changes the store;
 * - finished operations are kept at least the retention (default 7 days) and removed by
 *   `deleteExpired`; unfinished ones are never expired;
 * - an operation becomes terminal and enters the `outbox` in one atomic write; `deleteExpired`
 *   removes a record's outbox entry with it (the outbox stays bounded by the retention, at least
 *   7 days, and never names a record that is gone for long; its readers cope with one that is);
 * - an unreachable backend surfaces as UpstreamUnavailableError.
 */
export interface OperationStore {
  /**
   * True when the store itself publishes every successful create and change to the
   * `OperationEvents` bus, atomically with the write; writers then must not publish again.
   */
  readonly publishesChanges?: boolean;
  create(record: OperationRecord): Promise<void>;
  get(id: string): Promise<OperationRecord | undefined>;
  /** Applies `change` atomically. Resolves to undefined when the record does not exist. */
  mutate(id: string, change: OperationChange): Promise<MutateResult | undefined>;
  list(filter: OperationFilter, page: PageRequest, accept?: (op: OperationRecord) => boolean): Promise<Page<OperationRecord>>;
  /** Children of `parentId`, oldest first. */
  listChildren(parentId: string): Promise<readonly OperationRecord[]>;
  /** Removes operations finished more than the retention before `now`; resolves to how many. */
  deleteExpired(now: Date): Promise<number>;
  readonly outbox: OperationOutbox;
}

/** When `r` finished (epoch ms; its last update when `finishedAt` is missing): the outbox's order. */
export function finishedMsOf(r: Pick<OperationRecord, 'finishedAt' | 'updatedAt'>): number {
  const ms = Date.parse(r.finishedAt ?? r.updatedAt);
  return Number.isFinite(ms) ? ms : 0;
}

/** True when `op` passes every criterion of `filter` (shared by the implementations). */
export function matchesFilter(op: OperationRecord, filter: OperationFilter): boolean {
  if (filter.tenant !== undefined && op.tenant !== filter.tenant) return false;
  if (filter.kind !== undefined && op.kind !== filter.kind) return false;
  if (filter.parentId !== undefined && op.parentId !== filter.parentId) return false;
  if (filter.topLevel === true && op.parentId !== undefined) return false;
  if (filter.target !== undefined && (op.target.type !== filter.target.type || op.target.id !== filter.target.id)) {
    return false;
  }
  if (filter.status !== undefined) {
    const wanted: readonly OperationStatus[] = typeof filter.status === 'string' ? [filter.status] : filter.status;
    if (!wanted.includes(op.status)) return false;
  }
  return true;
}
