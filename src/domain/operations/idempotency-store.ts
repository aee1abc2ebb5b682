import type { JsonValue } from './operation.js';

/** Idempotency keys are kept 24 hours after the first answer. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A key whose first request never completed (the process died) is released after this long
 * (5 minutes), so a crash cannot block a key for a whole day.
 */
export const DEFAULT_IDEMPOTENCY_IN_PROGRESS_TTL_MS = 5 * 60 * 1000;

/** Keys are scoped to the caller and the endpoint: the same key of two callers never collides. */
export interface IdempotencyScope {
  /** Principal id of the caller. */
  readonly principalId: string;
  /** HTTP method, upper case. */
  readonly method: string;
  /** Request path without the query string, e.g. `/v1/tenants/lab1/vms`. */
  readonly path: string;
}

/** The first answer, replayed verbatim. */
export interface StoredResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: JsonValue;
}

export type IdempotencyBegin =
  /** First time: handle the request, then `complete` (or `abandon` on an error not to cache). */
  | { readonly state: 'new' }
  /** Answered before with the same body: send `response` again. */
  | { readonly state: 'replay'; readonly response: StoredResponse }
  /** The first request with this key is still being handled (409). */
  | { readonly state: 'in_progress' }
  /** The key was used with another body (422). */
  | { readonly state: 'mismatch' };

/**
 * Remembers the first answer to each (scope, Idempotency-Key).
 *
 * Invariants (the contract suite checks them):
 * - `begin` is atomic: of two concurrent `begin`s with the same scope and key, one gets `new`;
 * - a different `bodyHash` for a known key is `mismatch`, whatever the key's state;
 * - `complete` stores the first answer only (a second `complete` changes nothing) and keeps it for
 *   the TTL (default 24 h); `abandon` forgets an unfinished key so the client may retry;
 * - keys of other scopes are independent;
 * - an unreachable backend surfaces as UpstreamUnavailableError.
 */
export interface IdempotencyStore {
  /** `bodyHash`: a digest of the request body (e.g. SHA-256 hex of its canonical JSON). */
  begin(scope: IdempotencyScope, key: string, bodyHash: string): Promise<IdempotencyBegin>;
  complete(scope: IdempotencyScope, key: string, response: StoredResponse): Promise<void>;
  abandon(scope: IdempotencyScope, key: string): Promise<void>;
}
