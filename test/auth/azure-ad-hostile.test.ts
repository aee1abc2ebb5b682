import fc from 'fast-check';
import { CompactSign, exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureAdVerifier, type AzureAdVerifier } from '../../src/adapters/auth/azure-ad.js';
import { UnauthenticatedError } from '../../src/domain/shared/errors.js';
import {
  API_CLIENT_ID,
  b64url,
  makeKey,
  sign,
  startJwksServer,
  TENANT_A,
  userClaims,
  type JwksServer,
  type SigningKey,
} from './support/azure-ad-fixture.js';

let key: SigningKey;
let rogue: SigningKey;
let server: JwksServer;
let verifier: AzureAdVerifier;

beforeAll(async () => {
  [key, rogue] = await Promise.all([makeKey('kid-1'), makeKey('kid-1')]);
  server = await startJwksServer([key]);
  verifier = createAzureAdVerifier({
    allowedTenantIds: [TENANT_A],
    audiences: [API_CLIENT_ID],
    jwksUri: server.uri,
    roleMapping: { platformAdminRoles: ['LabPlane.Admin'], platformAdminGroups: [] },
  });
  // Warm the key cache so later assertions on request counts mean "no fetch caused by the input".
  await verifier.verify(await sign(userClaims(Date.now()), key));
});
afterAll(async () => {
  await server.close();
});

async function refused(token: string): Promise<UnauthenticatedError> {
  const err: unknown = await verifier.verify(token).then(
    () => new Error('expected the token to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnauthenticatedError);
  return err as UnauthenticatedError;
}

const claims = () => userClaims(Date.now(), { roles: ['LabPlane.Admin'] });
const header = (h: object) => b64url(JSON.stringify(h));

describe('Azure AD verifier: forged and unsigned tokens', () => {
  it('refuses alg none, with or without a signature segment', async () => {
    const body = b64url(JSON.stringify(claims()));
    for (const alg of ['none', 'None', 'NONE']) {
      const h = header({ alg, typ: 'JWT', kid: 'kid-1' });
      expect((await refused(`${h}.${body}.`)).message).toMatch(/signed JWT/);
      expect((await refused(`${h}.${body}.${b64url('x')}`)).message).toMatch(/algorithm/);
    }
  });

  it('refuses HS256 tokens keyed with the public key (key-confusion attack)', async () => {
    const pem = await exportSPKI(key.publicKey);
    const secrets = [new TextEncoder().encode(pem), Buffer.from(String(key.jwk.n), 'base64url'), new TextEncoder().encode(JSON.stringify(key.jwk))];
    for (const secret of secrets) {
      for (const alg of ['HS256', 'HS512']) {
        const token = await new SignJWT(claims()).setProtectedHeader({ alg, typ: 'JWT', kid: 'kid-1' }).sign(secret);
        expect((await refused(token)).message).toMatch(/algorithm/);
      }
    }
  });

  it('refuses a token signed by another key under a published kid', async () => {
    expect((await refused(await sign(claims(), rogue))).message).toMatch(/signature/);
  });

  it('refuses a token whose claims were edited after signing', async () => {
    const good = await sign(userClaims(Date.now()), key);
    const [h, , s] = good.split('.');
    const edited = `${h}.${b64url(JSON.stringify(claims()))}.${s}`;
    expect((await refused(edited)).message).toMatch(/signature/);
  });

  it('refuses a correctly signed payload that is not a JSON object', async () => {
    for (const payload of ['not json', '[1,2,3]', '"a string"', 'null']) {
      const token = await new CompactSign(new TextEncoder().encode(payload)).setProtectedHeader({ alg: 'RS256', kid: 'kid-1' }).sign(key.privateKey);
      await refused(token);
    }
  });

  it('refuses ES256 when only RS256 is allowed, and unsafe algorithm configuration at construction', async () => {
    const ec = await generateKeyPair('ES256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'kid-1' }).sign(ec.privateKey);
    expect((await refused(token)).message).toMatch(/algorithm/);
    const base = { allowedTenantIds: [TENANT_A], audiences: [API_CLIENT_ID], roleMapping: { platformAdminRoles: [], platformAdminGroups: [] } };
    expect(() => createAzureAdVerifier({ ...base, allowedAlgorithms: ['none'] })).toThrow(TypeError);
    expect(() => createAzureAdVerifier({ ...base, allowedAlgorithms: ['RS256', 'HS256'] })).toThrow(TypeError);
    expect(() => createAzureAdVerifier({ ...base, allowedTenantIds: ['common'] })).toThrow(TypeError);
  });
});

describe('Azure AD verifier: garbage never escapes as a server error', () => {
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  const garbage: Array<[string, string]> = [
    ['empty', ''],
    ['a word', 'abc'],
    ['dots only', '...'],
    ['three letters', 'a.b.c'],
    ['the Bearer prefix', 'Bearer abc.def.ghi'],
    ['JSON', '{"alg":"RS256"}'],
    ['one segment', 'eyJhbGciOiJSUzI1NiJ9'],
    ['four segments', 'a.b.c.d'],
    ['a JWE-shaped token', 'a.b.c.d.e'],
    ['a non-JSON header', `${b64url('hello')}.${b64url('{}')}.${b64url('sig')}`],
    ['a JSON array header', `${b64url('[]')}.${b64url('{}')}.${b64url('sig')}`],
    ['an alg that is an object', `${header({ alg: { x: 1 }, kid: 'kid-1' })}.${b64url('{}')}.${b64url('s')}`],
    ['a numeric kid', `${header({ alg: 'RS256', kid: 7 })}.${b64url('{}')}.${b64url('s')}`],
    ['a missing kid', `${header({ alg: 'RS256' })}.${b64url('{}')}.${b64url('s')}`],
    ['an unknown crit header', `${header({ alg: 'RS256', kid: 'kid-1', crit: ['x'], x: 1 })}.${b64url('{}')}.${b64url('s')}`],
    ['a deeply nested JSON header (JSON bomb)', `${b64url(`{"alg":"RS256","kid":"kid-1","x":${deep}}`)}.${b64url('{}')}.${b64url('s')}`],
    ['a deeply nested payload', `${header({ alg: 'RS256', kid: 'kid-1' })}.${b64url(deep)}.${b64url('s')}`],
    ['standard base64 characters', 'ab+c.de/f.gh=='],
    ['a NUL byte', 'abc\u0000.def.ghi'],
    ['non-ASCII', 'ä.ö.ü'],
    ['a 1 MB token', `${'a'.repeat(1_000_000)}.b.c`],
    ['a 40 kB well-formed token', `${header({ alg: 'RS256', kid: 'kid-1' })}.${b64url('x'.repeat(30_000))}.${b64url('s')}`],
  ];

  it.each(garbage)('refuses %s with UnauthenticatedError and fetches no keys', async (_name, token) => {
    const before = server.requests;
    const err = await refused(token);
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message.length).toBeLessThan(80);
    expect(server.requests).toBe(before);
  });

  it('refuses a 1 MB token quickly', async () => {
    const started = performance.now();
    expect((await refused(`${'x'.repeat(1_000_000)}.y.z`)).message).toMatch(/too large/);
    expect(performance.now() - started).toBeLessThan(200);
  });

  it('property: arbitrary strings and arbitrary three-part tokens are always refused as unauthenticated', async () => {
    const segment = fc.string({ unit: fc.constantFrom(...'ABCDEFabcdef0123456789-_'.split('')), maxLength: 60 });
    const headerSeg = fc
      .record({ alg: fc.constantFrom('RS256', 'none', 'HS256', 'ES256', 'PS256'), kid: fc.option(fc.string(), { nil: undefined }) })
      .map((h) => header(h));
    const token = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.tuple(segment, segment, segment).map((p) => p.join('.')),
      fc
        .tuple(
          headerSeg,
          fc.json().map((j) => b64url(j)),
          segment,
        )
        .map((p) => p.join('.')),
    );
    await fc.assert(
      fc.asyncProperty(token, async (t) => {
        const err: unknown = await verifier.verify(t).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(UnauthenticatedError);
      }),
      { numRuns: 300 },
    );
  });
});
