import { ValidationError } from './errors.js';

/** One page of a list. `nextCursor` is absent on the last page. Cursors are opaque to callers. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor?: string;
}

export interface PageRequest {
  /** 1..500; callers default it to 50. */
  readonly limit: number;
  readonly cursor?: string;
}

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 500;

/**
 * Pages an already sorted array by an opaque cursor that encodes the last key seen, so a page stays
 * stable when items are added or removed before it.
 */
export function pageByKey<T>(sorted: readonly T[], keyOf: (item: T) => string, req: PageRequest): Page<T> {
  const after = req.cursor === undefined ? undefined : decodeCursor(req.cursor);
  const start = after === undefined ? 0 : firstIndexAfter(sorted, keyOf, after);
  const items = sorted.slice(start, start + req.limit);
  const last = items.at(-1);
  const more = start + req.limit < sorted.length;
  return more && last !== undefined ? { items, nextCursor: encodeCursor(keyOf(last)) } : { items };
}

function firstIndexAfter<T>(sorted: readonly T[], keyOf: (item: T) => string, after: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(sorted[mid] as T) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { k?: unknown }).k === 'string') {
      return (parsed as { k: string }).k;
    }
  } catch {
    // fall through to the validation error below
  }
  throw new InvalidCursorError();
}

export class InvalidCursorError extends ValidationError {
  constructor() {
    super('The cursor is not valid; start again without one.', [{ field: '/cursor', message: 'malformed cursor' }]);
  }
}
