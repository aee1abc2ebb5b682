import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { makePrincipal, type Principal } from '../../src/domain/auth/principal.js';
import type { Logger } from '../../src/domain/operations/logger.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for one test file (files run in parallel against one Redis). */
export function testPrefix(): string {
  return `lp-test-${randomUUID().slice(0, 8)}`;
}

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

export interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A logger that keeps what it is told (tests read it; nothing is printed). */
export function recordingLogger(): Logger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (obj, msg) => void entries.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => void entries.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => void entries.push({ level: 'error', obj, msg }),
  };
}

export { eventually as waitFor } from '../support/eventually.js';

export const admin: Principal = makePrincipal({ id: 'admin-1', platformAdmin: true });

export const uuids = { next: () => randomUUID() };
