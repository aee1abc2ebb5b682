import type { webcrypto } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { ToolKeys, ToolSigningKey } from '../../domain/lti/ports.js';
import {
  currentKey,
  LTI_KEY_GRACE_MS,
  publicJwk,
  publishedKeys,
  rotatedSet,
  rotationDue,
  type StoredToolKey,
  type StoredToolKeySet,
} from '../../domain/lti/tool-key-set.js';
import { ConflictError } from '../../domain/shared/errors.js';
import type { Clock } from '../../domain/shared/ids.js';

/** A new RSA 2048 RS256 key pair, stored as a private JWK; `kid` is its RFC 7638 thumbprint. */
export async function newStoredToolKey(now: Date): Promise<Omit<StoredToolKey, 'retiredAt'>> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint({ kty: jwk.kty, n: jwk.n, e: jwk.e } as JWK, 'sha256');
  return { kid, createdAt: now.toISOString(), privateJwk: { ...jwk, kid, alg: 'RS256' } };
}

/** Where the key set is kept, with optimistic concurrency (`version`). */
export interface ToolKeyStore {
  /** The stored set and its version; undefined when there is none yet. `fresh` skips any cache. */
  read(fresh: boolean): Promise<{ readonly set: StoredToolKeySet; readonly version: string } | undefined>;
  /** ConflictError `ALREADY_EXISTS` when another process created it first. */
  create(set: StoredToolKeySet): Promise<void>;
  /** ConflictError `VERSION_CONFLICT` when `version` is stale. */
  replace(set: StoredToolKeySet, version: string): Promise<void>;
}

export interface ToolKeysDeps {
  readonly store: ToolKeyStore;
  readonly clock: Clock;
  /** How long a retired key stays published (default LTI_KEY_GRACE_MS, 1 h). */
  readonly graceMs?: number;
  /** A new key pair (tests inject cheaper or fixed ones). */
  readonly newKey?: (now: Date) => Promise<Omit<StoredToolKey, 'retiredAt'>>;
}

/** The tool's keys, plus rotation by age (the leader's loop). */
export interface RotatingToolKeys extends ToolKeys {
  /** Rotates when the current key is older than `maxAgeMs`; true when it did. */
  rotateIfDue(maxAgeMs: number): Promise<boolean>;
}

const ATTEMPTS = 4;

function conflict(err: unknown, code: 'ALREADY_EXISTS' | 'VERSION_CONFLICT'): boolean {
  return err instanceof ConflictError && err.code === code;
}

/**
 * `ToolKeys` over a key store: the set is created on first use (two replicas racing: one create
 * wins, the other reads it), parsed keys are kept per version, rotation is a read-modify-write with
 * the version (a conflict re-reads and decides again). Private parts never leave: `jwks()` builds
 * each entry from the public members only.
 */
export function createToolKeys(deps: ToolKeysDeps): RotatingToolKeys {
  const { store, clock } = deps;
  const graceMs = deps.graceMs ?? LTI_KEY_GRACE_MS;
  const newKey = deps.newKey ?? newStoredToolKey;
  const imported = new Map<string, Promise<webcrypto.CryptoKey>>();

  async function load(): Promise<StoredToolKeySet> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = await store.read(attempt > 0);
      if (found !== undefined && found.set.keys.length > 0) return found.set;
      // None yet (or an unreadable one, which is replaced).
      const set: StoredToolKeySet = { keys: [await newKey(clock.now())] };
      try {
        if (found === undefined) await store.create(set);
        else await store.replace(set, found.version);
        return set;
      } catch (err) {
        if (!conflict(err, 'ALREADY_EXISTS') && !conflict(err, 'VERSION_CONFLICT')) throw err;
      }
    }
    throw new ConflictError('VERSION_CONFLICT', 'The tool keys kept changing while they were being created; try again.');
  }

  function signingKey(key: StoredToolKey): Promise<webcrypto.CryptoKey> {
    let p = imported.get(key.kid);
    if (p === undefined) {
      p = importJWK(key.privateJwk as JWK, 'RS256') as Promise<webcrypto.CryptoKey>;
      p.catch(() => imported.delete(key.kid));
      imported.set(key.kid, p);
    }
    return p;
  }

  async function rotate(maxAgeMs: number | undefined): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = await store.read(true);
      const now = clock.now();
      if (found === undefined) {
        await load();
        if (maxAgeMs !== undefined) return false;
        continue;
      }
      if (maxAgeMs !== undefined && !rotationDue(found.set, now, maxAgeMs)) return false;
      const next = rotatedSet(found.set, await newKey(now), now, graceMs);
      try {
        await store.replace(next, found.version);
      } catch (err) {
        if (!conflict(err, 'VERSION_CONFLICT')) throw err;
        continue;
      }
      const kept = new Set(next.keys.map((k) => k.kid));
      for (const kid of imported.keys()) if (!kept.has(kid)) imported.delete(kid);
      return true;
    }
    throw new ConflictError('VERSION_CONFLICT', 'The tool keys kept changing while they were being rotated; try again.');
  }

  return {
    async current(): Promise<ToolSigningKey> {
      const key = currentKey(await load());
      if (key === undefined) throw new TypeError('the tool key set is empty');
      return { kid: key.kid, alg: 'RS256', privateKey: await signingKey(key) };
    },
    async jwks() {
      return { keys: publishedKeys(await load(), clock.now(), graceMs).map(publicJwk) };
    },
    async rotate() {
      await rotate(undefined);
    },
    rotateIfDue: (maxAgeMs) => rotate(maxAgeMs),
  };
}

/** Keys kept in memory (tests, and parts built without a cluster). */
export function createMemoryToolKeyStore(): ToolKeyStore & { peek(): StoredToolKeySet | undefined } {
  let held: { set: StoredToolKeySet; version: string } | undefined;
  let versions = 0;
  return {
    peek: () => held?.set,
    read: async () => (held === undefined ? undefined : structuredClone(held)),
    async create(set) {
      if (held !== undefined) throw new ConflictError('ALREADY_EXISTS', 'The tool keys exist already.');
      held = { set: structuredClone(set), version: String(++versions) };
    },
    async replace(set, version) {
      if (held?.version !== version) throw new ConflictError('VERSION_CONFLICT', 'The tool keys changed meanwhile.');
      held = { set: structuredClone(set), version: String(++versions) };
    },
  };
}
