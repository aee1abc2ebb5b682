import { describe, expect, it } from 'vitest';
import { createPrincipalResolver, type TokenVerifier } from '../../src/domain/auth/authenticator.js';
import { UnauthenticatedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';

function countingVerifier(expiresAt?: number): TokenVerifier & { calls: number } {
  const v = {
    calls: 0,
    async verify(token: string) {
      v.calls += 1;
      if (token !== 'good') throw new UnauthenticatedError('bad');
      return { id: 'alice', ...(expiresAt === undefined ? {} : { expiresAt }) };
    },
  };
  return v;
}
const noMemberships = { membershipsOf: async () => [] as Array<readonly [string, 'owner' | 'member']> };

describe('principal resolver', () => {
  it('verifies a token once within the cache TTL, and again after it', async () => {
    let clock = 1_000;
    const v = countingVerifier();
    const r = createPrincipalResolver({ verifiers: [v], memberships: noMemberships, cacheTtlMs: 100, now: () => clock });
    await r.resolve('good');
    await r.resolve('good');
    expect(v.calls).toBe(1);
    clock += 101;
    await r.resolve('good');
    expect(v.calls).toBe(2);
  });

  it('never serves a cached token past its expiry', async () => {
    let clock = 1_000;
    const v = countingVerifier(1_050);
    const r = createPrincipalResolver({ verifiers: [v], memberships: noMemberships, cacheTtlMs: 60_000, now: () => clock });
    await r.resolve('good');
    clock = 1_060;
    await r.resolve('good');
    expect(v.calls).toBe(2);
  });

  it('keeps the most recently used tokens when full, dropping the least recently used', async () => {
    const seen: string[] = [];
    const v: TokenVerifier = {
      async verify(token) {
        seen.push(token);
        return { id: token };
      },
    };
    const r = createPrincipalResolver({ verifiers: [v], memberships: noMemberships, cacheSize: 2, now: () => 1_000 });
    await r.resolve('a');
    await r.resolve('b');
    await r.resolve('a'); // cached; now more recent than b
    await r.resolve('c'); // full: drops b, not a
    await r.resolve('a');
    expect(seen).toEqual(['a', 'b', 'c']);
    await r.resolve('b');
    expect(seen).toEqual(['a', 'b', 'c', 'b']);
  });

  it("says until when the caller's token is valid, fresh or cached, and nothing when the verifier does not know", async () => {
    const r = createPrincipalResolver({ verifiers: [countingVerifier(9_000)], memberships: noMemberships, now: () => 1_000 });
    expect((await r.resolve('good')).expiresAt).toBe(9_000);
    expect((await r.resolve('good')).expiresAt).toBe(9_000);
    const open = createPrincipalResolver({ verifiers: [countingVerifier()], memberships: noMemberships });
    expect((await open.resolve('good')).expiresAt).toBeUndefined();
  });

  it('does not cache refusals, and looks memberships up on every request', async () => {
    const v = countingVerifier();
    let roles: Array<readonly [string, 'owner' | 'member']> = [];
    const r = createPrincipalResolver({ verifiers: [v], memberships: { membershipsOf: async () => roles } });
    await expect(r.resolve('bad')).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(r.resolve('bad')).rejects.toBeInstanceOf(UnauthenticatedError);
    expect(v.calls).toBe(2);
    expect((await r.resolve('good')).tenantRoles.size).toBe(0);
    roles = [['cs101', 'owner']];
    expect((await r.resolve('good')).tenantRoles.get('cs101')).toBe('owner');
  });

  it('reuses the principal while the membership version stays, and looks up again when it changes', async () => {
    let version: number | undefined = 7;
    let roles: Array<readonly [string, 'owner' | 'member']> = [['cs101', 'member']];
    let lookups = 0;
    const memberships = {
      membershipsOf: async () => {
        lookups += 1;
        return roles;
      },
      membershipsVersion: () => version,
    };
    const r = createPrincipalResolver({ verifiers: [countingVerifier()], memberships });
    const first = await r.resolve('good');
    expect(await r.resolve('good')).toBe(first);
    expect(lookups).toBe(1);
    // A membership removed: the repository's version moves, the next request sees it.
    roles = [];
    version = 8;
    expect((await r.resolve('good')).tenantRoles.has('cs101')).toBe(false);
    expect(lookups).toBe(2);
    // A repository that cannot tell (not synced): looked up on every request.
    version = undefined;
    roles = [['cs102', 'owner']];
    expect((await r.resolve('good')).tenantRoles.get('cs102')).toBe('owner');
    await r.resolve('good');
    expect(lookups).toBe(4);
  });

  it('does not reuse a principal past its token: another token, or the same after it expired, is verified anew', async () => {
    let clock = 1_000;
    const v = countingVerifier(1_050);
    const r = createPrincipalResolver({ verifiers: [v], memberships: { ...noMemberships, membershipsVersion: () => 1 }, now: () => clock });
    const first = await r.resolve('good');
    await expect(r.resolve('bad')).rejects.toBeInstanceOf(UnauthenticatedError);
    clock = 1_060;
    const again = await r.resolve('good');
    expect(v.calls).toBe(3);
    expect(again).not.toBe(first);
  });

  it('lets a key outage through as 503 instead of turning it into 401', async () => {
    const down: TokenVerifier = {
      verify: async () => {
        throw new UpstreamUnavailableError('AUTH_KEYS_UNAVAILABLE', 'keys down');
      },
    };
    const r = createPrincipalResolver({ verifiers: [down], memberships: noMemberships });
    await expect(r.resolve('x')).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });
});
