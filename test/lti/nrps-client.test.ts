import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNrpsClient } from '../../src/adapters/lti/nrps-client.js';
import { createPlatformFetch } from '../../src/adapters/lti/platform-fetch.js';
import { seedSimLmsRegistration } from '../../src/adapters/sim/lms/index.js';
import { NRPS_MEDIA_TYPE, NRPS_SCOPE, ROLE } from '../../src/domain/lti/claims.js';
import type { PlatformFetch, ToolKeys } from '../../src/domain/lti/ports.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import { DomainError, isRetryable } from '../../src/domain/shared/errors.js';
import { startSimLms, type SimLmsHarness } from './support/sim-lms-harness.js';

let h: SimLmsHarness;
let registration: LtiRegistration;
let now = Date.parse('2026-12-01T10:00:00Z');
const clock = { now: () => new Date(now) };

interface Seen {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string;
}
const seen: Seen[] = [];
const guarded = createPlatformFetch({ allowPrivate: true, timeoutMs: 5000 });
/** The embedded default's platform fetch, recording what is sent. */
const recording: PlatformFetch = async (url, init) => {
  seen.push({ url, method: init?.method ?? 'GET', headers: new Headers(init?.headers), body: init?.body === undefined ? '' : String(init.body) });
  return guarded(url, init);
};

function client(extra: { keys?: ToolKeys; maxPages?: number; maxMembers?: number } = {}) {
  return createNrpsClient({ fetch: recording, keys: extra.keys ?? h.keys, clock, ...extra });
}

async function failure(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

beforeAll(async () => {
  // The simulated LMS checks assertion times with the same injected clock as the client.
  h = await startSimLms({ clock });
  registration = { ...seedSimLmsRegistration(h.origin), id: 'reg-1', createdAt: '2026-12-01T00:00:00Z', createdBy: 'alice', version: '1' };
});
afterAll(async () => h.close());

const membershipsUrl = (course: string, query = '') => `${h.origin}/sim/lms/courses/${course}/memberships${query}`;

describe('NRPS client against the simulated LMS', () => {
  it('reads every member over several pages, with one token from a signed client assertion', async () => {
    seen.length = 0;
    const before = h.lms.issuedTokens();
    const members = await client().members(registration, membershipsUrl('CS101', '?limit=10'));
    expect(members).toHaveLength(35);
    expect(h.lms.issuedTokens() - before).toBe(1);
    const pages = seen.filter((s) => s.url.includes('/memberships'));
    expect(pages).toHaveLength(4);
    expect(pages[1]?.url).toBe(membershipsUrl('CS101', '?limit=10&offset=10'));
    for (const p of pages) {
      expect(p.headers.get('accept')).toBe(NRPS_MEDIA_TYPE);
      expect(p.headers.get('authorization')).toMatch(/^Bearer [A-Za-z0-9_-]+$/);
    }
    const instructor = members.find((m) => m.lmsUserId === 'sim-instructor');
    expect(instructor?.roles).toEqual([ROLE.instructor]);
    expect(instructor?.status).toBe('Active');
    const hidden = members.find((m) => m.lmsUserId === 'sim-private-1');
    expect(hidden).toBeDefined();
    expect(hidden?.email).toBeUndefined();

    const tokenCall = seen.find((s) => s.url.endsWith('/sim/lms/token'));
    expect(tokenCall?.method).toBe('POST');
    const form = new URLSearchParams(tokenCall?.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(form.get('scope')).toBe(NRPS_SCOPE);
    const assertion = form.get('client_assertion') ?? '';
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS256', kid: 'tool-key-1' });
    const claims = decodeJwt(assertion);
    expect(claims).toMatchObject({ iss: registration.clientId, sub: registration.clientId, aud: registration.accessTokenUrl });
    expect(typeof claims.jti).toBe('string');
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
  });

  it('reuses the token until shortly before it expires, then asks for a new one', async () => {
    const nrps = client();
    const before = h.lms.issuedTokens();
    await nrps.members(registration, membershipsUrl('NET210'));
    await nrps.members(registration, membershipsUrl('NET210'));
    expect(h.lms.issuedTokens() - before).toBe(1);
    now += 3600_000 - 30_000; // inside the refresh margin of a 3600 s token
    await nrps.members(registration, membershipsUrl('NET210'));
    expect(h.lms.issuedTokens() - before).toBe(2);
  });

  it('reports status changes and removals as the LMS lists them', async () => {
    h.lms.setStatus('NET210', 'sim-net-learner-1', 'Inactive');
    h.lms.removeMember('NET210', 'sim-net-learner-2');
    const members = await client().members(registration, membershipsUrl('NET210'));
    expect(members.find((m) => m.lmsUserId === 'sim-net-learner-1')?.status).toBe('Inactive');
    expect(members.some((m) => m.lmsUserId === 'sim-net-learner-2')).toBe(false);
  });

  it('is refused a token when the assertion is signed with a key the tool does not publish', async () => {
    const forged: ToolKeys = { ...h.keys, current: () => Promise.resolve(h.keys.stranger) };
    const err = await failure(client({ keys: forged }).members(registration, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_TOKEN_REFUSED');
    expect(err.details).toMatchObject({ status: 401, error: 'invalid_client' });
    expect(isRetryable(err)).toBe(false);
  });

  it('is refused a token for a client id the LMS does not know', async () => {
    const err = await failure(client().members({ ...registration, clientId: 'someone-else' }, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_TOKEN_REFUSED');
    expect(err.message).not.toMatch(/eyJ/);
  });

  it('treats a failing token endpoint as retryable, with its Retry-After', async () => {
    h.lms.injectFault({ endpoint: 'token', status: 503, headers: { 'retry-after': '7' } });
    const err = await failure(client().members(registration, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_PLATFORM_UNAVAILABLE');
    expect(isRetryable(err)).toBe(true);
    expect((err as DomainError & { retryAfterSeconds?: number }).retryAfterSeconds).toBe(7);
  });

  it('treats a 5xx from the membership service as retryable', async () => {
    h.lms.injectFault({ endpoint: 'memberships', status: 502 });
    const err = await failure(client().members(registration, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_PLATFORM_UNAVAILABLE');
    expect(isRetryable(err)).toBe(true);
  });

  it('refuses an answer that is not JSON', async () => {
    h.lms.injectFault({ endpoint: 'memberships', status: 200, contentType: NRPS_MEDIA_TYPE, body: '{"members": [' });
    const err = await failure(client().members(registration, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_PLATFORM_BAD_ANSWER');
    expect(isRetryable(err)).toBe(false);
  });

  it('refuses members without a user_id', async () => {
    h.lms.injectFault({ endpoint: 'memberships', status: 200, contentType: NRPS_MEDIA_TYPE, body: '{"members":[{"name":"x","roles":[]}]}' });
    expect((await failure(client().members(registration, membershipsUrl('CS101')))).code).toBe('LTI_PLATFORM_BAD_ANSWER');
  });

  it('says when the membership service refuses (unknown course)', async () => {
    const err = await failure(client().members(registration, membershipsUrl('NOPE')));
    expect(err.code).toBe('LTI_MEMBERSHIP_REFUSED');
    expect(err.details).toMatchObject({ status: 404 });
  });

  it('stops at the page limit and at the member limit', async () => {
    expect((await failure(client({ maxPages: 2 }).members(registration, membershipsUrl('CS101', '?limit=10')))).code).toBe(
      'LTI_MEMBERSHIP_TOO_LARGE',
    );
    expect((await failure(client({ maxMembers: 20 }).members(registration, membershipsUrl('CS101', '?limit=10')))).code).toBe(
      'LTI_MEMBERSHIP_TOO_LARGE',
    );
  });

  it('reports an unreachable platform as retryable', async () => {
    const dead = { ...registration, accessTokenUrl: 'http://127.0.0.1:1/sim/lms/token' };
    const err = await failure(client().members(dead, membershipsUrl('CS101')));
    expect(err.code).toBe('LTI_PLATFORM_UNAVAILABLE');
    expect(isRetryable(err)).toBe(true);
  });
});
