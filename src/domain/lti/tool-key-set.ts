/**
 * The tool's signing keys as stored (one document, in one Secret): the current key and the
 * retired ones still published. Pure rules; generating and parsing keys is the adapters' part.
 */

/** Longest lifetime of anything the tool signs: client assertions and Deep Linking responses (5 minutes). */
export const LTI_SIGNED_LIFETIME_MS = 5 * 60_000;
/**
 * How long a retired key stays published (LTI_KEY_GRACE): at least the longest lifetime of what it
 * signed, with margin for platforms that cache our JWKS.
 */
export const LTI_KEY_GRACE_MS = 60 * 60_000;
/** Default age of the current key before the leader rotates it (LTI_KEY_ROTATION_DAYS). */
export const DEFAULT_LTI_KEY_ROTATION_DAYS = 90;

export interface StoredToolKey {
  /** RFC 7638 JWK thumbprint (SHA-256) of the public key. */
  readonly kid: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601: when a newer key became current. Absent on the current key. */
  readonly retiredAt?: string;
  /** The private RSA key as a JWK (RS256). Never logged, never answered. */
  readonly privateJwk: Readonly<Record<string, unknown>>;
}

export interface StoredToolKeySet {
  /** Newest first: `keys[0]` is the current key. */
  readonly keys: readonly StoredToolKey[];
}

/** The members of an RSA JWK that are public. */
const PUBLIC_RSA_MEMBERS = ['kty', 'n', 'e'] as const;

/** The public half of a stored key as published in the JWKS (no private member can pass). */
export function publicJwk(key: StoredToolKey): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of PUBLIC_RSA_MEMBERS) if (key.privateJwk[m] !== undefined) out[m] = key.privateJwk[m];
  return { ...out, kid: key.kid, alg: 'RS256', use: 'sig' };
}

/** The current key (the newest one). */
export function currentKey(set: StoredToolKeySet): StoredToolKey | undefined {
  return set.keys[0];
}

/** Keys to publish at `now`: the current one, then retired ones within their grace. */
export function publishedKeys(set: StoredToolKeySet, now: Date, graceMs: number = LTI_KEY_GRACE_MS): StoredToolKey[] {
  return set.keys.filter((k, i) => i === 0 || k.retiredAt === undefined || Date.parse(k.retiredAt) + graceMs > now.getTime());
}

/**
 * The set after a rotation at `now`: `fresh` becomes current, the previous current key is retired
 * at `now`, and retired keys past their grace are dropped.
 */
export function rotatedSet(
  set: StoredToolKeySet,
  fresh: Omit<StoredToolKey, 'retiredAt'>,
  now: Date,
  graceMs: number = LTI_KEY_GRACE_MS,
): StoredToolKeySet {
  const at = now.toISOString();
  const kept = publishedKeys(set, now, graceMs).map((k) => (k.retiredAt === undefined ? { ...k, retiredAt: at } : k));
  return { keys: [fresh, ...kept] };
}

/** True when the current key is older than `maxAgeMs` at `now` (or there is none). */
export function rotationDue(set: StoredToolKeySet, now: Date, maxAgeMs: number): boolean {
  const current = currentKey(set);
  return current === undefined || Date.parse(current.createdAt) + maxAgeMs <= now.getTime();
}

/** Parses the stored document; undefined when it is not a key set. */
export function parseKeySet(text: string): StoredToolKeySet | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) return undefined;
  const ok = keys.every(
    (k: unknown) =>
      typeof k === 'object' &&
      k !== null &&
      typeof (k as StoredToolKey).kid === 'string' &&
      typeof (k as StoredToolKey).createdAt === 'string' &&
      typeof (k as StoredToolKey).privateJwk === 'object',
  );
  return ok ? { keys: keys as StoredToolKey[] } : undefined;
}
