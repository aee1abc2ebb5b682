import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import type { ReadinessCheck } from '../api/rest/system.js';

/**
 * How long an informer that had synced may keep failing to list or watch before readiness drops.
 * A dropped watch or a 410 Gone relists within seconds, so it never gets that far; an API server or
 * RBAC outage that outlasts it does. While failing, reads of that informer still come from its
 * last copy, which is the staleness this bounds.
 */
export const INFORMER_STALE_AFTER_MS = 60_000;

export interface InformerCheckOptions {
  readonly staleAfterMs?: number;
  /** Injected in tests. */
  readonly now?: () => number;
}

/** Why one informer makes the process not ready, or undefined when it does not. */
export function informerProblem(h: InformerHealth, staleAfterMs: number, now: number): string | undefined {
  const since = h.since === undefined ? '' : ` since ${h.since.toISOString()}`;
  const why = h.lastError === undefined ? '' : `: ${h.lastError}`;
  if (!h.synced) return `the ${h.name} informer has not synced${since}${why}`;
  if (h.since !== undefined && now - h.since.getTime() > staleAfterMs)
    return `the ${h.name} informer has been failing to list or watch${since}${why}`;
  return undefined;
}

/**
 * A readiness check over the informers of one area (`tenants`, `labs`, ...): fails while any of them
 * has never synced, or has been failing for longer than `staleAfterMs` (default
 * {@link INFORMER_STALE_AFTER_MS}).
 */
export function informerCheck(name: string, informers: () => readonly InformerHealth[], opts: InformerCheckOptions = {}): ReadinessCheck {
  const staleAfterMs = opts.staleAfterMs ?? INFORMER_STALE_AFTER_MS;
  const now = opts.now ?? Date.now;
  return {
    name,
    async check() {
      const problems = informers().flatMap((h) => informerProblem(h, staleAfterMs, now()) ?? []);
      if (problems.length > 0) throw new Error(problems.join('; '));
    },
  };
}
