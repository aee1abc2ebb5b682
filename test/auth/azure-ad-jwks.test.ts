import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAzureAdVerifier, type AzureAdVerifierOptions } from '../../src/adapters/auth/azure-ad.js';
import { UnauthenticatedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import {
  API_CLIENT_ID,
  makeClock,
  makeKey,
  makeLogger,
  sign,
  startJwksServer,
  TENANT_A,
  userClaims,
  type JwksServer,
  type SigningKey,
  type TestClock,
} from './support/azure-ad-fixture.js';

const MINUTE = 60_000;
let k1: SigningKey;
let k2: SigningKey;
let k3: SigningKey;
let server: JwksServer;
let clock: TestClock;

beforeAll(async () => {
  [k1, k2, k3] = await Promise.all([makeKey('kid-1'), makeKey('kid-2'), makeKey('kid-3')]);
});
beforeEach(async () => {
  server = await startJwksServer([k1]);
  clock = makeClock();
});
afterEach(async () => {
  await server.close();
});

function verifier(overrides: Partial<AzureAdVerifierOptions> = {}) {
  return createAzureAdVerifier({
    allowedTenantIds: [TENANT_A],
    audiences: [API_CLIENT_ID],
    jwksUri: server.uri,
    roleMapping: { platformAdminRoles: [], platformAdminGroups: [] },
    now: clock,
    logger: makeLogger(),
    ...overrides,
  });
}

const tokenFor = async (key: SigningKey) => sign(userClaims(clock()), key);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a refusal'),
    (e: unknown) => e,
  );
}

describe('Azure AD verifier: signing keys', () => {
  it('fetches the key set once and serves later tokens from the cache', async () => {
    const v = verifier();
    for (let i = 0; i < 5; i++) await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
    expect(server.requests).toBe(1);
  });

  it('shares one fetch among concurrent first requests', async () => {
    const v = verifier();
    const tokens = await Promise.all(Array.from({ length: 20 }, () => tokenFor(k1)));
    const results = await Promise.all(tokens.map((t) => v.verify(t)));
    expect(results).toHaveLength(20);
    expect(server.requests).toBe(1);
  });

  it('refreshes once on an unknown kid, and not again for another unknown kid within the cooldown', async () => {
    const v = verifier({ jwksRefreshCooldownSeconds: 300 });
    await v.verify(await tokenFor(k1));
    // Right after the initial load the cooldown already holds: no refetch.
    expect((await rejection(v.verify(await tokenFor(k2)))) as Error).toBeInstanceOf(UnauthenticatedError);
    expect(server.requests).toBe(1);

    clock.advance(6 * MINUTE);
    const unknown = (await rejection(v.verify(await tokenFor(k2)))) as UnauthenticatedError;
    expect(unknown).toBeInstanceOf(UnauthenticatedError);
    expect(unknown.message).toMatch(/unknown key/);
    expect(server.requests).toBe(2);

    clock.advance(MINUTE);
    await rejection(v.verify(await tokenFor(k3)));
    await rejection(v.verify(await tokenFor(k2)));
    expect(server.requests).toBe(2);

    clock.advance(5 * MINUTE);
    await rejection(v.verify(await tokenFor(k3)));
    expect(server.requests).toBe(3);
  });

  it('accepts a rotated key once it is published and the cooldown allows a refresh', async () => {
    const v = verifier();
    await v.verify(await tokenFor(k1));
    server.publish([k1, k2]);
    clock.advance(6 * MINUTE);
    await expect(v.verify(await tokenFor(k2))).resolves.toMatchObject({ id: 'user-oid-0001' });
    expect(server.requests).toBe(2);
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ id: 'user-oid-0001' });
    expect(server.requests).toBe(2);
  });

  it('drops a retired key after the background refresh of a stale key set', async () => {
    const v = verifier({ jwksMaxAgeSeconds: 3600 });
    await v.verify(await tokenFor(k1));
    server.publish([k2]);
    clock.advance(61 * MINUTE);
    const stale = await tokenFor(k1);
    await expect(v.verify(stale)).resolves.toMatchObject({ kind: 'user' });
    await vi.waitFor(() => expect(v.jwksStats().fetchedAt).toBe(clock()));
    expect(server.requests).toBe(2);
    expect((await rejection(v.verify(stale))) as Error).toBeInstanceOf(UnauthenticatedError);
    await expect(v.verify(await tokenFor(k2))).resolves.toMatchObject({ kind: 'user' });
  });

  it('keeps verifying with cached keys while the key endpoint is down', async () => {
    const v = verifier({ jwksMaxAgeSeconds: 3600 });
    await v.verify(await tokenFor(k1));
    server.mode = 'down';
    clock.advance(2 * 3600_000);
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
    await vi.waitFor(() => expect(v.jwksStats().failures).toBe(1));
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
    // An unknown kid while down: one attempt, then a plain 401, never a server error.
    clock.advance(6 * MINUTE);
    const err = (await rejection(v.verify(await tokenFor(k2)))) as UnauthenticatedError;
    expect(err).toBeInstanceOf(UnauthenticatedError);
    await rejection(v.verify(await tokenFor(k3)));
    expect(v.jwksStats().failures).toBe(2);
    expect(server.requests).toBe(3);
  });

  it('keeps the cached keys when the endpoint answers garbage', async () => {
    const v = verifier();
    await v.verify(await tokenFor(k1));
    server.mode = 'garbage';
    clock.advance(6 * MINUTE);
    await rejection(v.verify(await tokenFor(k2)));
    expect(v.jwksStats()).toMatchObject({ attempts: 2, failures: 1, keys: 1 });
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
  });

  it('answers 503-style UpstreamUnavailable when no key set could ever be loaded, retrying at most every 10 s', async () => {
    server.mode = 'down';
    const v = verifier();
    const first = (await rejection(v.verify(await tokenFor(k1)))) as UpstreamUnavailableError;
    expect(first).toBeInstanceOf(UpstreamUnavailableError);
    expect(first.code).toBe('AUTH_KEYS_UNAVAILABLE');
    await rejection(v.verify(await tokenFor(k1)));
    expect(server.requests).toBe(1);
    server.mode = 'up';
    clock.advance(11_000);
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
    expect(server.requests).toBe(2);
  });

  it('gives up on a hanging key endpoint after the fetch timeout', async () => {
    server.mode = 'hang';
    const v = verifier({ jwksTimeoutMs: 200 });
    const started = performance.now();
    const err = await rejection(v.verify(await tokenFor(k1)));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('uses the injected fetch and its URL only', async () => {
    const seen: string[] = [];
    const body = JSON.stringify({ keys: [k1.jwk] });
    const v = verifier({
      jwksUri: 'https://keys.test.invalid/keys',
      fetch: (input) => {
        seen.push(String(input));
        return Promise.resolve(new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }));
      },
    });
    await expect(v.verify(await tokenFor(k1))).resolves.toMatchObject({ kind: 'user' });
    expect(seen).toEqual(['https://keys.test.invalid/keys']);
    expect(server.requests).toBe(0);
  });
});
