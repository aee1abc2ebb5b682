import type { V1ListMeta } from '@kubernetes/client-node';
import { isNotFound } from './errors.js';
import type { KubeClient } from './kube-client.js';

/** Page size of every list the adapter sends. */
export const PAGE = 500;

/** One page of a list, as the typed client returns it. */
export interface ListPage<T> {
  readonly items: T[];
  readonly metadata?: V1ListMeta;
}

/**
 * A list answer of either client as a typed page. Custom-object lists come back as plain JSON
 * (`continue`, not the typed client's `_continue`); an empty token means "no more" in both.
 */
export function asPage<T>(raw: unknown): ListPage<T> {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: V1ListMeta & { continue?: string } };
  const items = Array.isArray(r.items) ? (r.items as T[]) : [];
  const { continue: plain, _continue: typed, ...rest } = r.metadata ?? {};
  const cont = typed ?? plain;
  return { items, metadata: { ...rest, ...(cont === undefined || cont === '' ? {} : { _continue: cont }) } };
}

/** The value `read` resolves to, or undefined when the server said 404. */
export async function orUndefined<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Every item of a paged list, following `continue` tokens (reads through `client`, so the budget,
 * timeouts and error translation apply), with the resourceVersion of the first page.
 */
export async function listAllPages<T>(
  client: Pick<KubeClient, 'request'>,
  what: string,
  listPage: (cont: string | undefined) => Promise<unknown>,
): Promise<{ items: T[]; resourceVersion: string | undefined }> {
  const items: T[] = [];
  let cont: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const page = asPage<T>(await client.request({ what, write: false }, () => listPage(cont)));
    items.push(...page.items);
    resourceVersion ??= page.metadata?.resourceVersion;
    cont = page.metadata?._continue;
  } while (cont !== undefined);
  return { items, resourceVersion };
}

/** What one list request asks for; `cont` continues a paged list. */
export interface ListQuery {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly cont?: string;
}

/** The options of a typed or custom-object list call for `q` (one page of `PAGE` items). */
export function listOptions(q: ListQuery): { labelSelector?: string; limit: number; _continue?: string } {
  return {
    ...(q.labelSelector === undefined ? {} : { labelSelector: q.labelSelector }),
    limit: PAGE,
    ...(q.cont === undefined ? {} : { _continue: q.cont }),
  };
}
