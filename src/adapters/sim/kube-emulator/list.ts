import { badRequest } from './errors.js';
import { apiVersionOf, withTypeMeta } from './resources.js';
import type { ResourceDef } from './resources.js';
import { allOf, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';

/** List parameters from the query string. */
export interface ListRequest {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

interface ContinueToken {
  v: 'meta.k8s.io/v1';
  rv: number;
  start: string;
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return { v: parsed.v, rv: parsed.rv, start: parsed.start };
    }
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify(t), 'utf8').toString('base64url');
}

/**
 * Builds a `<Kind>List`: selectors, namespace/name order, `limit` + `continue` pagination (the token
 * carries the list's resourceVersion and the last key served; later pages reflect the current state
 * after that key), `remainingItemCount` when no selector is used. Built-in kinds' items carry no
 * apiVersion/kind, CRDs' items do, as on a real server.
 */
export function listObjects(store: ObjectStore, def: ResourceDef, req: ListRequest): unknown {
  const matcher = allOf(parseLabelSelector(req.labelSelector), parseFieldSelector(req.fieldSelector, def.key));
  const token = req.continueToken ? decodeContinue(req.continueToken) : undefined;
  const keyed: { key: string; obj: KubeObject }[] = [];
  for (const obj of store.scan(def.key, req.namespace)) {
    const key = keyOf(obj);
    if (token && key <= token.start) continue;
    if (!matcher || matcher(obj)) keyed.push({ key, obj });
  }
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const limit = req.limit !== undefined && req.limit > 0 ? req.limit : undefined;
  const page = limit !== undefined ? keyed.slice(0, limit) : keyed;
  const rv = token?.rv ?? store.resourceVersion();
  const metadata: Record<string, unknown> = { resourceVersion: String(rv) };
  const last = page[page.length - 1];
  if (limit !== undefined && keyed.length > limit && last) {
    metadata.continue = encodeContinue({ v: 'meta.k8s.io/v1', rv, start: last.key });
    if (!matcher) metadata.remainingItemCount = keyed.length - limit;
  }
  const items = page.map(({ obj }) => {
    if (!def.builtin) return withTypeMeta(def, obj);
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return rest;
  });
  return { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata, items };
}

/** Parses `limit`; 400 for non-integers. */
export function parseLimit(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw badRequest(`invalid limit: "${value}"`);
  return n;
}
