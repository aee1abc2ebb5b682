import { exportJWK, generateKeyPair } from 'jose';
import type { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findLink, parseLinkHeader } from '../../src/adapters/lti/link-header.js';
import { createNrpsClient, retryAfterSeconds } from '../../src/adapters/lti/nrps-client.js';
import { NRPS_MEDIA_TYPE } from '../../src/domain/lti/claims.js';
import type { PlatformFetch, ToolKeys } from '../../src/domain/lti/ports.js';
import type { LtiRegistration } from '../../src/domain/lti/registration.js';
import type { DomainError } from '../../src/domain/shared/errors.js';

describe('Link header parsing (RFC 8288)', () => {
  it('finds rel="next" among several links, with commas and semicolons inside', () => {
    const v = '<https://lms.example/m?a=1,2;b>; rel="prev first", <https://lms.example/m?page=3>; title="a, b; c"; rel="next"';
    expect(findLink(v, 'next', 'https://lms.example/m')?.href).toBe('https://lms.example/m?page=3');
    expect(findLink(v, 'first', 'https://lms.example/m')?.href).toBe('https://lms.example/m?a=1,2;b');
  });

  it('resolves relative targets against the page URL and matches rel case-insensitively', () => {
    expect(findLink('<memberships?p=2>; REL=Next', 'next', 'https://lms.example/api/courses/1/memberships?p=1')?.href).toBe(
      'https://lms.example/api/courses/1/memberships?p=2',
    );
  });

  it('ignores links without rel next, and malformed values', () => {
    expect(findLink('<https://lms.example/x>; rel="last"', 'next', 'https://lms.example/')).toBeUndefined();
    expect(findLink('https://lms.example/x; rel=next', 'next', 'https://lms.example/')).toBeUndefined();
    expect(findLink(null, 'next', 'https://lms.example/')).toBeUndefined();
    expect(parseLinkHeader('<a>; rel="next"; rel="prev"')[0]?.params.rel).toBe('next');
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-12-01T10:00:00Z');
  it('reads seconds and HTTP dates, bounded', () => {
    expect(retryAfterSeconds('12', now, 300)).toBe(12);
    expect(retryAfterSeconds('Tue, 01 Dec 2026 10:00:30 GMT', now, 300)).toBe(30);
    expect(retryAfterSeconds('99999', now, 300)).toBe(300);
    expect(retryAfterSeconds('soon', now, 300)).toBeUndefined();
    expect(retryAfterSeconds(null, now, 300)).toBeUndefined();
  });
});

async function testKeys(): Promise<ToolKeys> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    current: () => Promise.resolve({ kid: 'k1', alg: 'RS256', privateKey: privateKey as webcrypto.CryptoKey }),
    jwks: () => Promise.resolve({ keys: [jwk] }),
    rotate: () => Promise.resolve(),
  };
}

const registration: LtiRegistration = {
  id: 'r1',
  tenant: 't1',
  issuer: 'https://lms.example',
  clientId: 'c1',
  deploymentIds: ['d1'],
  authLoginUrl: 'https://lms.example/auth',
  accessTokenUrl: 'https://lms.example/token',
  jwksUrl: 'https://lms.example/jwks',
  createdAt: '2026-12-01T00:00:00Z',
  createdBy: 'alice',
  version: '1',
};

function fakePlatform(pages: Record<string, { body: unknown; link?: string; status?: number }>): { fetch: PlatformFetch; calls: string[] } {
  const calls: string[] = [];
  const fetch: PlatformFetch = (url, init) => {
    calls.push(`${init?.method ?? 'GET'} ${url} ${new Headers(init?.headers).get('authorization') ?? ''}`);
    if (url === registration.accessTokenUrl) {
      return Promise.resolve(Response.json({ access_token: 'secret-token', token_type: 'bearer', expires_in: 3600 }));
    }
    const page = pages[url];
    if (page === undefined) return Promise.resolve(new Response('nope', { status: 404 }));
    const headers: Record<string, string> = { 'content-type': NRPS_MEDIA_TYPE };
    if (page.link !== undefined) headers.link = page.link;
    return Promise.resolve(new Response(JSON.stringify(page.body), { status: page.status ?? 200, headers }));
  };
  return { fetch, calls };
}

const member = (id: string) => ({ user_id: id, status: 'Active', roles: ['Learner'] });

describe('NRPS paging rules', () => {
  it('never sends the bearer token to a next page on another origin', async () => {
    const { fetch, calls } = fakePlatform({
      'https://lms.example/m': { body: { members: [member('u1')] }, link: '<https://evil.example/m2>; rel="next"' },
    });
    const nrps = createNrpsClient({ fetch, keys: await testKeys() });
    const err = await nrps.members(registration, 'https://lms.example/m').catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('LTI_PLATFORM_BAD_ANSWER');
    expect(calls.some((c) => c.includes('evil.example'))).toBe(false);
  });

  it('refuses pages that link back to an earlier page', async () => {
    const { fetch } = fakePlatform({
      'https://lms.example/m': { body: { members: [member('u1')] }, link: '<https://lms.example/m?p=2>; rel="next"' },
      'https://lms.example/m?p=2': { body: { members: [member('u2')] }, link: '</m>; rel="next"' },
    });
    const nrps = createNrpsClient({ fetch, keys: await testKeys() });
    const err = await nrps.members(registration, 'https://lms.example/m').catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('LTI_PLATFORM_BAD_ANSWER');
  });

  it('treats a redirect as a wrong answer rather than following it', async () => {
    const { fetch } = fakePlatform({ 'https://lms.example/m': { body: {}, status: 302 } });
    const nrps = createNrpsClient({ fetch, keys: await testKeys() });
    const err = await nrps.members(registration, 'https://lms.example/m').catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('LTI_PLATFORM_BAD_ANSWER');
  });

  it('keeps the token out of errors and logs, and accepts short role names and missing status', async () => {
    const logs: string[] = [];
    const logger = { info: (o: object, m?: string) => logs.push(JSON.stringify([o, m])), warn: () => undefined, error: () => undefined };
    const { fetch } = fakePlatform({
      'https://lms.example/m': { body: { members: [{ user_id: 'u1', roles: ['Instructor'], email: '', name: ' Ann ' }] } },
    });
    const nrps = createNrpsClient({ fetch, keys: await testKeys(), logger });
    const members = await nrps.members(registration, 'https://lms.example/m');
    expect(members).toEqual([{ lmsUserId: 'u1', name: 'Ann', roles: ['Instructor'], status: 'Active' }]);
    expect(logs.join('\n')).not.toContain('secret-token');
    expect(logs.join('\n')).not.toContain('eyJ');
  });

  it('asks for a fresh token once when the membership service answers 401, then gives up', async () => {
    let tokens = 0;
    let pages = 0;
    const fetch: PlatformFetch = (url) => {
      if (url === registration.accessTokenUrl) {
        tokens += 1;
        return Promise.resolve(Response.json({ access_token: `t${tokens}`, token_type: 'Bearer', expires_in: 3600 }));
      }
      pages += 1;
      return Promise.resolve(
        pages === 1
          ? new Response('', { status: 401 })
          : new Response(JSON.stringify({ members: [member('u1')] }), { headers: { 'content-type': NRPS_MEDIA_TYPE } }),
      );
    };
    const nrps = createNrpsClient({ fetch, keys: await testKeys() });
    expect(await nrps.members(registration, 'https://lms.example/m')).toHaveLength(1);
    expect(tokens).toBe(2);

    const always401: PlatformFetch = (url) =>
      Promise.resolve(
        url === registration.accessTokenUrl
          ? Response.json({ access_token: 'x', token_type: 'Bearer', expires_in: 3600 })
          : new Response('', { status: 401 }),
      );
    const err = await createNrpsClient({ fetch: always401, keys: await testKeys() })
      .members(registration, 'https://lms.example/m')
      .catch((e: unknown) => e);
    expect((err as DomainError).code).toBe('LTI_MEMBERSHIP_REFUSED');
  });
});
