import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { NRPS_MEDIA_TYPE, NRPS_SCOPE } from '../../domain/lti/claims.js';
import type { LtiMember, MembershipSource, PlatformFetch, ToolKeys } from '../../domain/lti/ports.js';
import type { LtiRegistration } from '../../domain/lti/registration.js';
import { isDomainError, UpstreamRejectedError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { Logger } from '../../domain/shared/logger.js';
import { findLink } from './link-header.js';

export interface NrpsClientOptions {
  /** How platform URLs are reached (the guarded fetch of `createPlatformFetch`). */
  readonly fetch: PlatformFetch;
  /** The tool's signing keys (client assertions are signed with the current one). */
  readonly keys: ToolKeys;
  readonly clock?: Clock;
  /** Budget of one HTTP exchange, ms. Default 15 000. */
  readonly timeoutMs?: number;
  /** Most membership pages followed. Default 200. */
  readonly maxPages?: number;
  /** Most members read. Default 10 000. */
  readonly maxMembers?: number;
  /** A token is reused until this many seconds before it expires. Default 60. */
  readonly tokenRefreshMarginSeconds?: number;
  /** Longest Retry-After passed on to the job engine, seconds. Default 300. */
  readonly maxRetryAfterSeconds?: number;
  readonly logger?: Logger;
}

export interface NrpsClient extends MembershipSource {
  /** Forgets cached access tokens (all, or one registration's). */
  forgetTokens(registrationId?: string): void;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const ASSERTION_TTL_S = 300;
/** When the platform gives no `expires_in`. */
const DEFAULT_TOKEN_TTL_S = 300;

const tokenAnswer = z.object({
  access_token: z.string().min(1).max(8192),
  token_type: z.string().refine((t) => t.toLowerCase() === 'bearer', 'token_type must be Bearer'),
  expires_in: z.coerce.number().positive().optional(),
  scope: z.string().optional(),
});

const oauthError = z.object({ error: z.string().max(100) }).partial();

const memberSchema = z.object({
  user_id: z.string().min(1).max(1024),
  status: z.string().optional(),
  name: z.string().max(1024).optional().nullable(),
  email: z.string().max(1024).optional().nullable(),
  roles: z.array(z.string().max(1024)).max(100).optional().default([]),
});

const containerSchema = z.object({
  id: z.string().optional(),
  members: z.array(z.unknown()),
});

function statusOf(raw: string | undefined): LtiMember['status'] {
  switch ((raw ?? 'Active').toLowerCase()) {
    case 'inactive':
      return 'Inactive';
    case 'deleted':
      return 'Deleted';
    default:
      return 'Active';
  }
}

/** Seconds to wait from a `Retry-After` (delta-seconds or HTTP-date), bounded; undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null, now: Date, max: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const v = value.trim();
  let s: number | undefined;
  if (/^\d+$/.test(v)) s = Number(v);
  else {
    const at = Date.parse(v);
    if (!Number.isNaN(at)) s = Math.max(0, Math.ceil((at - now.getTime()) / 1000));
  }
  return s === undefined ? undefined : Math.min(s, max);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid URL)';
  }
}

interface CachedToken {
  readonly token: string;
  /** epoch ms after which it is not used */
  readonly refreshAt: number;
}

/**
 * `MembershipSource` over NRPS 2.0 with LTI Advantage security: an access token from the platform's
 * token endpoint (OAuth 2 client credentials, the client authenticated by a JWT bearer assertion
 * signed with the tool's current key, RFC 7523), cached per registration and scope until shortly
 * before it expires; then every page of the membership container, following `Link: rel="next"`
 * (same origin only: the bearer token never goes elsewhere) up to a page and a member limit.
 * Errors: `LTI_TOKEN_REFUSED` (the token endpoint said no), `LTI_MEMBERSHIP_REFUSED` (401/403/404
 * on the memberships, after one retry with a fresh token on 401), `LTI_PLATFORM_UNAVAILABLE`
 * (retryable: unreachable, timeout, 429, 5xx; with the platform's Retry-After),
 * `LTI_PLATFORM_BAD_ANSWER` (malformed, a redirect, a loop), `LTI_MEMBERSHIP_TOO_LARGE`.
 * Tokens and assertions are never logged nor put in errors.
 */
export function createNrpsClient(options: NrpsClientOptions): NrpsClient {
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const maxPages = options.maxPages ?? 200;
  const maxMembers = options.maxMembers ?? 10_000;
  const marginMs = (options.tokenRefreshMarginSeconds ?? 60) * 1000;
  const maxRetryAfter = options.maxRetryAfterSeconds ?? 300;
  const tokens = new Map<string, CachedToken>();
  const pending = new Map<string, Promise<string>>();

  const cacheKey = (r: LtiRegistration, scope: string): string => JSON.stringify([r.id, r.issuer, r.clientId, r.accessTokenUrl, scope]);

  const badAnswer = (url: string, what: string, cause?: unknown): UpstreamRejectedError =>
    new UpstreamRejectedError('LTI_PLATFORM_BAD_ANSWER', `The LMS at ${hostOf(url)} answered ${what}.`, { cause, details: { host: hostOf(url) } });

  const unavailable = (url: string, what: string, res?: Response): UpstreamUnavailableError => {
    const ra = res === undefined ? undefined : retryAfterSeconds(res.headers.get('retry-after'), clock.now(), maxRetryAfter);
    return new UpstreamUnavailableError('LTI_PLATFORM_UNAVAILABLE', `The LMS at ${hostOf(url)} ${what}; try again later.`, {
      details: { host: hostOf(url), ...(res === undefined ? {} : { status: res.status }) },
      ...(ra === undefined ? {} : { retryAfterSeconds: ra }),
    });
  };

  async function send(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(timeoutMs);
    const s = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      return await options.fetch(url, { ...init, signal: s, redirect: 'manual' });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      if (isDomainError(err)) throw err;
      if (timeout.aborted) throw unavailable(url, `did not answer within ${timeoutMs} ms`);
      throw unavailable(url, 'could not be reached');
    }
  }

  async function readJson(url: string, res: Response): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      if (isDomainError(err)) throw err;
      throw unavailable(url, 'broke off its answer');
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw badAnswer(url, 'with a body that is not JSON', err);
    }
  }

  async function requestToken(r: LtiRegistration, scope: string, signal: AbortSignal | undefined): Promise<CachedToken> {
    const key = await options.keys.current();
    const now = Math.floor(clock.now().getTime() / 1000);
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(r.clientId)
      .setSubject(r.clientId)
      .setAudience(r.accessTokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + ASSERTION_TTL_S)
      .sign(key.privateKey);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: assertion,
      scope,
    });
    const url = r.accessTokenUrl;
    const res = await send(
      url,
      { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body },
      signal,
    );
    if (res.status >= 300 && res.status < 400) throw badAnswer(url, `with a redirect (HTTP ${res.status}) from the token endpoint`);
    if (res.status === 429 || res.status >= 500) throw unavailable(url, `token endpoint failed (HTTP ${res.status})`, res);
    if (res.status !== 200) {
      let oauth: string | undefined;
      try {
        const parsed = oauthError.safeParse(JSON.parse(await res.text()));
        oauth = parsed.success ? parsed.data.error : undefined;
      } catch {
        oauth = undefined;
      }
      const safe = oauth !== undefined && /^[a-z_]{1,60}$/.test(oauth) ? oauth : undefined;
      throw new UpstreamRejectedError(
        'LTI_TOKEN_REFUSED',
        `The LMS token endpoint at ${hostOf(url)} refused the tool (HTTP ${res.status}${safe === undefined ? '' : `, ${safe}`}).`,
        { details: { host: hostOf(url), status: res.status, ...(safe === undefined ? {} : { error: safe }) } },
      );
    }
    const parsed = tokenAnswer.safeParse(await readJson(url, res));
    if (!parsed.success) throw badAnswer(url, 'with a token response that is not OAuth 2 (access_token, token_type Bearer)');
    if (parsed.data.scope !== undefined && !parsed.data.scope.split(/\s+/).includes(scope)) {
      throw new UpstreamRejectedError('LTI_TOKEN_REFUSED', `The LMS at ${hostOf(url)} did not grant the membership scope.`, {
        details: { host: hostOf(url), status: 200 },
      });
    }
    const ttlMs = (parsed.data.expires_in ?? DEFAULT_TOKEN_TTL_S) * 1000;
    const refreshAt = clock.now().getTime() + Math.max(ttlMs - marginMs, ttlMs / 2);
    return { token: parsed.data.access_token, refreshAt };
  }

  async function accessToken(r: LtiRegistration, scope: string, signal: AbortSignal | undefined): Promise<string> {
    const k = cacheKey(r, scope);
    const cached = tokens.get(k);
    if (cached !== undefined && cached.refreshAt > clock.now().getTime()) return cached.token;
    const inflight = pending.get(k);
    if (inflight !== undefined) return inflight;
    const p = requestToken(r, scope, signal).then(
      (t) => {
        tokens.set(k, t);
        return t.token;
      },
      (err: unknown) => {
        tokens.delete(k);
        throw err;
      },
    );
    pending.set(k, p);
    try {
      return await p;
    } finally {
      pending.delete(k);
    }
  }

  function parseMembers(url: string, body: unknown, out: Map<string, LtiMember>): void {
    const container = containerSchema.safeParse(body);
    if (!container.success) throw badAnswer(url, 'with a body that is not an NRPS membership container');
    for (const raw of container.data.members) {
      const m = memberSchema.safeParse(raw);
      if (!m.success) throw badAnswer(url, 'with a member that has no user_id or malformed fields');
      const email = m.data.email?.trim();
      const name = m.data.name?.trim();
      out.set(m.data.user_id, {
        lmsUserId: m.data.user_id,
        ...(email === undefined || email === '' ? {} : { email }),
        ...(name === undefined || name === '' ? {} : { name }),
        roles: m.data.roles,
        status: statusOf(m.data.status),
      });
      if (out.size > maxMembers) {
        throw new UpstreamRejectedError('LTI_MEMBERSHIP_TOO_LARGE', `The course has more than ${maxMembers} members; labplane reads no more.`, {
          details: { host: hostOf(url), maxMembers },
        });
      }
    }
  }

  return {
    forgetTokens(registrationId) {
      if (registrationId === undefined) tokens.clear();
      else for (const k of [...tokens.keys()]) if ((JSON.parse(k) as string[])[0] === registrationId) tokens.delete(k);
    },

    async members(r, membershipsUrl, signal) {
      let first: URL;
      try {
        first = new URL(membershipsUrl);
      } catch {
        throw badAnswer(membershipsUrl, 'with a membership URL that is not a URL');
      }
      const out = new Map<string, LtiMember>();
      const seen = new Set<string>();
      let next: URL | undefined = first;
      let pages = 0;
      let retriedAuth = false;
      while (next !== undefined) {
        const url = next.href;
        if (pages >= maxPages) {
          throw new UpstreamRejectedError(
            'LTI_MEMBERSHIP_TOO_LARGE',
            `The course membership has more than ${maxPages} pages; labplane reads no more.`,
            {
              details: { host: hostOf(url), maxPages },
            },
          );
        }
        if (seen.has(url)) throw badAnswer(url, 'with membership pages that link back to an earlier page');
        const token = await accessToken(r, NRPS_SCOPE, signal);
        const res = await send(url, { method: 'GET', headers: { accept: NRPS_MEDIA_TYPE, authorization: `Bearer ${token}` } }, signal);
        if (res.status === 401 && !retriedAuth) {
          // The token may have been revoked or expired early: one more try with a fresh one.
          await res.body?.cancel();
          retriedAuth = true;
          tokens.delete(cacheKey(r, NRPS_SCOPE));
          continue;
        }
        if (res.status >= 300 && res.status < 400) throw badAnswer(url, `the membership request with a redirect (HTTP ${res.status})`);
        if (res.status === 429 || res.status >= 500) throw unavailable(url, `membership service failed (HTTP ${res.status})`, res);
        if (res.status === 401 || res.status === 403 || res.status === 404) {
          throw new UpstreamRejectedError(
            'LTI_MEMBERSHIP_REFUSED',
            `The LMS at ${hostOf(url)} refused to list the course members (HTTP ${res.status}).`,
            {
              details: { host: hostOf(url), status: res.status },
            },
          );
        }
        if (res.status !== 200) throw badAnswer(url, `the membership request with HTTP ${res.status}`);
        const type = (res.headers.get('content-type') ?? '').toLowerCase();
        if (type !== '' && !type.includes('json')) throw badAnswer(url, `with content type '${type.slice(0, 80)}' instead of ${NRPS_MEDIA_TYPE}`);
        parseMembers(url, await readJson(url, res), out);
        seen.add(url);
        pages += 1;
        next = findLink(res.headers.get('link'), 'next', url);
        if (next !== undefined && next.origin !== first.origin) {
          throw badAnswer(url, `with a next page on another origin (${next.host}); the access token is not sent there`);
        }
      }
      options.logger?.info({ registration: r.id, host: first.host, pages, members: out.size }, 'NRPS membership read');
      return [...out.values()];
    },
  };
}
