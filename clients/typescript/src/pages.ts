/** One page of a list answer: every list of the API has `items` and, while more follow, `nextCursor`. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor?: string | undefined;
}

/** Where a page starts: spread it into the query (`query: { ...page, limit: 500 }`). */
export type PageStart = { cursor: string } | Record<string, never>;

type PageCall<T> = (start: PageStart) => Promise<{ data?: Page<T> | undefined }>;

/**
 * The pages of a list, one request each, following `nextCursor` until the last page:
 *
 *     for await (const page of pages((p) => api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant }, query: { ...p, limit: 500 } } })))
 */
export async function* pages<T>(call: PageCall<T>): AsyncGenerator<Page<T>, void, undefined> {
  let start: PageStart = {};
  for (;;) {
    const { data } = await call(start);
    if (data === undefined) return;
    yield data;
    if (data.nextCursor === undefined || data.nextCursor === '' || data.items.length === 0) return;
    start = { cursor: data.nextCursor };
  }
}

/** The items of every page of a list, in order (see `pages`). */
export async function* items<T>(call: PageCall<T>): AsyncGenerator<T, void, undefined> {
  for await (const page of pages(call)) yield* page.items;
}
