import { createLocalJWKSet, errors as joseErrors, type CryptoKey, type FlattenedJWSInput, type JSONWebKeySet, type JWSHeaderParameters } from 'jose';
import type { Logger } from '../../domain/shared/logger.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';

/** Options of the JWKS cache. Durations in milliseconds. */
export interface JwksCacheOptions {
  readonly uri: string;
  /** Minimum time between two fetch attempts (successful or not) caused by unknown key ids. Default 5 min. */
  readonly refreshCooldownMs?: number;
  /** Age after which the key set is refreshed in the background (still serving cached keys). Default 1 h. */
  readonly maxAgeMs?: number;
  /** Budget of one fetch, headers and body. Default 5 s. */
  readonly timeoutMs?: number;
  /** Minimum time between attempts while no key set has ever loaded. Default 10 s. */
  readonly emptyRetryMs?: number;
  /** Largest key-set document accepted. Default 512 KiB. */
  readonly maxBytes?: number;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => number;
  readonly logger?: Logger;
}

/** Counters for observability and tests. */
export interface JwksCacheStats {
  readonly attempts: number;
  readonly failures: number;
  readonly keys: number;
  readonly fetchedAt: number | undefined;
}

/** Key lookup for jose's `jwtVerify`, backed by a cached JWKS. */
export interface JwksCache {
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey>;
  stats(): JwksCacheStats;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

async function readLimited(res: Response, maxBytes: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new Error(`key set larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A JWKS cache with the semantics an API in front of Azure AD needs (jose's `createRemoteJWKSet`
 * does not fit: its cooldown runs from the last *successful* fetch, so while the endpoint is down
 * every unknown `kid` hits it again, and once its max age passes it refuses to verify with the
 * keys it still holds).
 * - The first use loads the set; concurrent callers share one fetch.
 * - An unknown `kid` triggers one refetch, at most once per cooldown measured from the last
 *   attempt, successful or not; within the cooldown it answers "no matching key" at once.
 * - A set older than `maxAgeMs` is refreshed in the background; requests keep using it.
 * - A failed fetch (timeout, non-200, bad JSON, oversize) keeps the cached set.
 * - With no set at all, `getKey` throws `UpstreamUnavailableError` (`AUTH_KEYS_UNAVAILABLE`).
 */
export function createJwksCache(options: JwksCacheOptions): JwksCache {
  const cooldownMs = options.refreshCooldownMs ?? 5 * 60_000;
  const maxAgeMs = options.maxAgeMs ?? 60 * 60_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const emptyRetryMs = options.emptyRetryMs ?? 10_000;
  const maxBytes = options.maxBytes ?? 512 * 1024;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  let local: LocalSet | undefined;
  let keyCount = 0;
  let fetchedAt: number | undefined;
  let lastAttemptAt: number | undefined;
  let pending: Promise<void> | undefined;
  let attempts = 0;
  let failures = 0;

  async function fetchOnce(): Promise<void> {
    attempts++;
    lastAttemptAt = now();
    try {
      const res = await fetchImpl(options.uri, {
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
        headers: { accept: 'application/json, application/jwk-set+json' },
      });
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new Error(`key endpoint answered ${res.status}`);
      }
      const doc: unknown = JSON.parse(await readLimited(res, maxBytes));
      const set = createLocalJWKSet(doc as JSONWebKeySet);
      local = set;
      keyCount = (doc as JSONWebKeySet).keys.length;
      fetchedAt = now();
    } catch (err) {
      failures++;
      options.logger?.warn(
        { jwksUri: options.uri, err: err instanceof Error ? err.message : String(err), cachedKeys: keyCount },
        'fetching the signing keys failed; keeping the cached key set',
      );
    }
  }

  function load(): Promise<void> {
    pending ??= fetchOnce().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  function mayAttempt(gapMs: number): boolean {
    return lastAttemptAt === undefined || now() - lastAttemptAt >= gapMs;
  }

  async function current(): Promise<LocalSet> {
    if (local === undefined) {
      if (pending !== undefined || mayAttempt(emptyRetryMs)) await load();
      if (local === undefined) {
        throw new UpstreamUnavailableError('AUTH_KEYS_UNAVAILABLE', 'The token signing keys cannot be loaded right now.', {
          retryAfterSeconds: Math.ceil(emptyRetryMs / 1000),
        });
      }
    } else if (fetchedAt !== undefined && now() - fetchedAt >= maxAgeMs && pending === undefined && mayAttempt(cooldownMs)) {
      void load();
    }
    return local;
  }

  return {
    async getKey(header, token) {
      const set = await current();
      try {
        return await set(header, token);
      } catch (err) {
        if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
        if (pending === undefined && !mayAttempt(cooldownMs)) throw err;
        await load();
        if (local === undefined || local === set) throw err;
        return local(header, token);
      }
    },
    stats() {
      return { attempts, failures, keys: keyCount, fetchedAt };
    },
  };
}
