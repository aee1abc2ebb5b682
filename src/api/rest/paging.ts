import { DEFAULT_PAGE_LIMIT, pageByKey, type Page } from '../../domain/shared/page.js';

export interface PageQuery {
  readonly limit?: number;
  readonly cursor?: string;
}

/**
 * One page of a list the use case returns whole (members, nodes, instance types, access grants,
 * snapshots, LTI registrations: each bounded by what one tenant, VM or cluster holds), in the same
 * `limit` / `cursor` / `nextCursor` shape as the lists paged by their store. Items are ordered by
 * `keyOf` (code-unit order, which the cursor relies on); the cursor names the last key seen.
 */
export function pageOfAll<T>(all: readonly T[], keyOf: (item: T) => string, q: PageQuery): Page<T> {
  const sorted = [...all].sort((a, b) => {
    const ka = keyOf(a);
    const kb = keyOf(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  return pageByKey(sorted, keyOf, { limit: q.limit ?? DEFAULT_PAGE_LIMIT, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) });
}

/** The wire shape of a page: `nextCursor` only when there is more. */
export function pageBody<T, D>(page: Page<T>, dto: (item: T) => D): { items: D[]; nextCursor?: string } {
  return { items: page.items.map(dto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
}
