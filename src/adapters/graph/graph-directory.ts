import type { TokenCredential } from '@azure/identity';
import { z } from 'zod';
import type { Directory, DirectoryMatch, DirectoryUser } from '../../domain/lti/ports.js';
import { isDomainError, UpstreamRejectedError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { Logger } from '../../domain/shared/logger.js';

export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
export const GRAPH_BASE_URL = 'https://graph.microsoft.com';
/** Requests Graph accepts in one JSON batch. */
export const GRAPH_BATCH_LIMIT = 20;
const SELECT = 'id,displayName,mail,userPrincipalName';
/** Longest address looked up (RFC 5321 path limit); longer ones are `not-found` without asking. */
const MAX_ADDRESS = 320;

export interface GraphDirectoryOptions {
  /** Token source (workload identity or a service principal holding User.Read.All, application permission). */
  readonly credential: TokenCredential;
  /** Default `https://graph.microsoft.com` (sovereign clouds and tests give another origin). */
  readonly baseUrl?: string;
  /** Default the global fetch. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
  /** Budget of one batch request, ms. Default 15 000. */
  readonly timeoutMs?: number;
  /** Tries of a throttled or failing batch (or of its throttled parts). Default 4. */
  readonly maxAttempts?: number;
  /**
   * Longest Retry-After waited for here, seconds (default 30). A longer one ends the lookup with a
   * retryable `DIRECTORY_UNAVAILABLE` carrying it, so the job engine waits instead of a worker.
   */
  readonly maxRetryAfterSeconds?: number;
  /** Waits between tries (injected in tests). */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** An OData string literal: single quotes doubled (OData ABNF `SQUOTE-in-string`). */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The relative URL (as a batch request gives it) that finds users by mail or UPN. */
export function userLookupUrl(address: string): string {
  const q = odataString(address);
  const filter = `mail eq ${q} or userPrincipalName eq ${q}`;
  return `/users?$filter=${encodeURIComponent(filter)}&$select=${SELECT}`;
}

const userSchema = z.object({
  id: z.string().min(1).max(100),
  displayName: z.string().nullable().optional(),
  mail: z.string().nullable().optional(),
  userPrincipalName: z.string().nullable().optional(),
});
const batchAnswer = z.object({
  responses: z.array(
    z.object({
      id: z.string(),
      status: z.number().int(),
      headers: z.record(z.string(), z.string()).nullable().optional(),
      body: z.unknown().optional(),
    }),
  ),
});
const listBody = z.object({ value: z.array(z.unknown()) });

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function retryAfterOf(headers: Readonly<Record<string, string>> | Headers | null | undefined, now: Date): number | undefined {
  if (headers === null || headers === undefined) return undefined;
  let raw: string | undefined;
  if (headers instanceof Headers) raw = headers.get('retry-after') ?? undefined;
  else raw = Object.entries(headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1];
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

function toUser(raw: unknown): DirectoryUser | undefined {
  const u = userSchema.safeParse(raw);
  if (!u.success) return undefined;
  return {
    id: u.data.id.toLowerCase(),
    ...(u.data.displayName == null ? {} : { displayName: u.data.displayName }),
    ...(u.data.mail == null ? {} : { email: u.data.mail }),
    ...(u.data.userPrincipalName == null ? {} : { userPrincipalName: u.data.userPrincipalName }),
  };
}

const THROTTLED = new Set([429, 503, 504]);

/**
 * `Directory` over Microsoft Graph v1.0: each address is looked up by mail or userPrincipalName
 * (`$filter=mail eq '…' or userPrincipalName eq '…'`, quotes doubled), 20 lookups per JSON `$batch`;
 * no user is `not-found`, more than one `ambiguous`. Throttling (429, 503, 504, for the batch or for
 * single requests in it) is retried after the Retry-After Graph gives (bounded), other failures end
 * the lookup: `DIRECTORY_UNAVAILABLE` (retryable) or `DIRECTORY_REJECTED` (401/403: permissions).
 * Tokens are never logged.
 */
export function createGraphDirectory(options: GraphDirectoryOptions): Directory {
  const base = (options.baseUrl ?? GRAPH_BASE_URL).replace(/\/+$/, '');
  const doFetch = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxAttempts = options.maxAttempts ?? 4;
  const maxWait = options.maxRetryAfterSeconds ?? 30;
  const sleep = options.sleep ?? defaultSleep;
  const clock = options.clock ?? systemClock;

  const unavailable = (what: string, retryAfterSeconds?: number, cause?: unknown): UpstreamUnavailableError =>
    new UpstreamUnavailableError('DIRECTORY_UNAVAILABLE', `Microsoft Graph ${what}; try again later.`, {
      ...(cause === undefined ? {} : { cause }),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  const rejected = (status: number): UpstreamRejectedError =>
    new UpstreamRejectedError(
      'DIRECTORY_REJECTED',
      `Microsoft Graph refused the user lookup (HTTP ${status}); check the identity's User.Read.All permission.`,
      {
        details: { status },
      },
    );

  async function token(signal?: AbortSignal): Promise<string> {
    let t;
    try {
      t = await options.credential.getToken(GRAPH_SCOPE, signal === undefined ? {} : { abortSignal: signal });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      throw unavailable('could not be given a token', undefined, err);
    }
    if (t === null || t.token === '') throw unavailable('could not be given a token');
    return t.token;
  }

  /** One `$batch` of at most 20 addresses: the answers it settled, and the addresses to ask again. */
  async function batch(
    addresses: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<{ settled: Map<string, DirectoryMatch>; again: string[]; retryAfter?: number }> {
    const requests = addresses.map((a, i) => ({ id: String(i + 1), method: 'GET', url: userLookupUrl(a) }));
    const timeout = AbortSignal.timeout(timeoutMs);
    const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let res: Response;
    try {
      res = await doFetch(`${base}/v1.0/$batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await token(signal)}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ requests }),
        signal: s,
        redirect: 'manual',
      });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      if (isDomainError(err)) throw err;
      throw unavailable(timeout.aborted ? `did not answer within ${timeoutMs} ms` : 'could not be reached', undefined, err);
    }
    const now = clock.now();
    if (THROTTLED.has(res.status)) {
      await res.body?.cancel();
      return { settled: new Map(), again: [...addresses], retryAfter: retryAfterOf(res.headers, now) ?? 0 };
    }
    if (res.status === 401 || res.status === 403) throw rejected(res.status);
    if (res.status >= 500) throw unavailable(`failed (HTTP ${res.status})`);
    if (res.status !== 200) throw rejected(res.status);
    let parsed;
    try {
      parsed = batchAnswer.safeParse(await res.json());
    } catch (err) {
      throw unavailable('answered with a body that is not JSON', undefined, err);
    }
    if (!parsed.success) throw unavailable('answered with a body that is not a batch response');
    const settled = new Map<string, DirectoryMatch>();
    const again: string[] = [];
    let retryAfter: number | undefined;
    const byId = new Map(parsed.data.responses.map((r) => [r.id, r]));
    addresses.forEach((address, i) => {
      const r = byId.get(String(i + 1));
      if (r === undefined || THROTTLED.has(r.status) || r.status >= 500) {
        again.push(address);
        const ra = r === undefined ? undefined : retryAfterOf(r.headers, now);
        retryAfter = Math.max(retryAfter ?? 0, ra ?? 0);
        return;
      }
      if (r.status === 401 || r.status === 403) throw rejected(r.status);
      if (r.status === 400 || r.status === 404) {
        // Graph could not evaluate the filter for this address: no user has it.
        settled.set(address, 'not-found');
        return;
      }
      if (r.status !== 200) throw rejected(r.status);
      const list = listBody.safeParse(r.body);
      if (!list.success) throw unavailable('answered a lookup with something that is not a user list');
      const users = list.data.value.map(toUser);
      if (users.some((u) => u === undefined)) throw unavailable('answered a lookup with a malformed user');
      settled.set(address, users.length === 0 ? 'not-found' : users.length > 1 ? 'ambiguous' : (users[0] as DirectoryUser));
    });
    return { settled, again, ...(again.length > 0 ? { retryAfter: retryAfter ?? 0 } : {}) };
  }

  return {
    async lookup(addresses, signal) {
      const out = new Map<string, DirectoryMatch>();
      const todo: string[] = [];
      for (const raw of addresses) {
        const a = raw.trim().toLowerCase();
        if (a === '' || out.has(a) || todo.includes(a)) continue;
        if (a.length > MAX_ADDRESS) out.set(a, 'not-found');
        else todo.push(a);
      }
      let batches = 0;
      for (let i = 0; i < todo.length; i += GRAPH_BATCH_LIMIT) {
        let pending = todo.slice(i, i + GRAPH_BATCH_LIMIT);
        for (let attempt = 1; pending.length > 0; attempt++) {
          const r = await batch(pending, signal);
          batches += 1;
          for (const [k, v] of r.settled) out.set(k, v);
          pending = r.again;
          if (pending.length === 0) break;
          const waitS = r.retryAfter !== undefined && r.retryAfter > 0 ? r.retryAfter : Math.min(2 ** (attempt - 1), maxWait);
          if (attempt >= maxAttempts) throw unavailable(`is still throttling after ${attempt} tries`, waitS);
          if (waitS > maxWait) throw unavailable('asks to wait longer than a lookup may', waitS);
          options.logger?.warn({ pending: pending.length, waitSeconds: waitS, attempt }, 'Microsoft Graph throttled user lookups; waiting');
          await sleep(waitS * 1000, signal);
        }
      }
      options.logger?.info({ addresses: todo.length, batches }, 'directory lookup done');
      return out;
    },
  };
}
