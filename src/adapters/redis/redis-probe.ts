import { Redis } from 'ioredis';

/** Redis cannot be used (unreachable, credentials refused); `message` is one line naming the URL without its password. */
export class RedisProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisProbeError';
  }
}

/** The URL as it may be shown: without its password. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(an unparsable REDIS_URL)';
  }
}

function codeOf(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  const msg = typeof e.message === 'string' ? e.message : '';
  return /^[A-Z]+/.exec(msg)?.[0] ?? 'unreachable';
}

/**
 * Connects once and sends PING, within `timeoutMs`, without the retries of the long-lived clients
 * (they keep reconnecting for ever, which at start-up would only hide a wrong REDIS_URL).
 */
export async function probeRedis(url: string, timeoutMs: number): Promise<void> {
  const shown = redactRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const cause = lastError ?? err;
    const code = codeOf(cause);
    if (/NOAUTH|WRONGPASS|NOPERM/.test(code)) {
      throw new RedisProbeError(`Redis at ${shown} refused our credentials (${code}): check the user and password in REDIS_URL`, { cause });
    }
    throw new RedisProbeError(
      `cannot reach Redis at ${shown} (${code === 'ETIMEDOUT' ? `no answer within ${timeoutMs} ms` : code}): check REDIS_URL and that Redis runs`,
      { cause },
    );
  } finally {
    client.disconnect();
  }
}
