import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAzureAdVerifier, type AzureAdVerifierOptions } from '../../src/adapters/auth/azure-ad.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { UnauthenticatedError } from '../../src/domain/shared/errors.js';
import {
  ADMIN_GROUP,
  API_APP_URI,
  API_CLIENT_ID,
  appClaims,
  FOREIGN_TENANT,
  issuerOf,
  LMS_APP_ID,
  makeClock,
  makeKey,
  makeLogger,
  sign,
  startJwksServer,
  TENANT_A,
  TENANT_B,
  userClaims,
  type JwksServer,
  type SigningKey,
  type TestClock,
} from './support/azure-ad-fixture.js';

let key: SigningKey;
let server: JwksServer;
let clock: TestClock;
let logger: ReturnType<typeof makeLogger>;

beforeAll(async () => {
  key = await makeKey('kid-1');
});
beforeEach(async () => {
  server = await startJwksServer([key]);
  clock = makeClock();
  logger = makeLogger();
});
afterEach(async () => {
  await server.close();
});

function verifier(overrides: Partial<AzureAdVerifierOptions> = {}) {
  return createAzureAdVerifier({
    allowedTenantIds: [TENANT_A, TENANT_B],
    audiences: [API_CLIENT_ID, API_APP_URI],
    jwksUri: server.uri,
    roleMapping: { platformAdminRoles: ['LabPlane.Admin'], platformAdminGroups: [ADMIN_GROUP] },
    integrationRoleMapping: { 'LabPlane.Labs.Manage': 'labs.manage', 'LabPlane.Read': 'read' },
    integrationBindings: { [LMS_APP_ID]: ['cs101', 'cs102'] },
    now: clock,
    logger,
    ...overrides,
  });
}

async function refusal(promise: Promise<unknown>): Promise<UnauthenticatedError> {
  const err: unknown = await promise.then(
    () => new Error('expected the token to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnauthenticatedError);
  return err as UnauthenticatedError;
}

describe('Azure AD verifier: people', () => {
  it('maps a valid user token with an admin app role to a platform admin with its groups and no tenant roles', async () => {
    const token = await sign(userClaims(clock(), { roles: ['LabPlane.Admin'], groups: ['g-1', 'g-2'] }), key);
    const p = makePrincipal(await verifier().verify(token));
    expect(p).toMatchObject({ id: 'user-oid-0001', name: 'Ada Lovelace', kind: 'user', platformAdmin: true, groups: ['g-1', 'g-2'] });
    expect(p.tenantRoles.size).toBe(0);
    expect(p.integrationRoles.size).toBe(0);
  });

  it('makes a member of the mapped admin group a platform admin, and an ordinary user not', async () => {
    const v = verifier();
    const admin = await v.verify(await sign(userClaims(clock(), { groups: ['other', ADMIN_GROUP.toUpperCase()] }), key));
    const plain = await v.verify(await sign(userClaims(clock(), { groups: ['other'], roles: ['LabPlane.User'] }), key));
    expect(admin.platformAdmin).toBe(true);
    expect(plain.platformAdmin).toBe(false);
  });

  it('accepts the application id URI as audience and falls back to preferred_username for the name', async () => {
    const token = await sign(userClaims(clock(), { aud: API_APP_URI, name: undefined }), key);
    const p = await verifier().verify(token);
    expect(p.name).toBe('ada@uni.example');
  });

  it('treats a groups overage claim as no groups (no admin through groups) and logs a warning', async () => {
    const claims = userClaims(clock(), {
      _claim_names: { groups: 'src1' },
      _claim_sources: { src1: { endpoint: 'https://graph.microsoft.com/v1.0/users/x/getMemberObjects' } },
    });
    const p = await verifier().verify(await sign(claims, key));
    expect(p.groups).toEqual([]);
    expect(p.platformAdmin).toBe(false);
    expect(logger.warnings.some((w) => /overage/.test(w.msg ?? ''))).toBe(true);
  });

  it('ignores claims of the wrong type instead of trusting them', async () => {
    const p = await verifier().verify(await sign(userClaims(clock(), { roles: 'LabPlane.Admin', groups: ADMIN_GROUP }), key));
    expect(p.platformAdmin).toBe(false);
    expect(p.groups).toEqual([]);
    const err = await refusal(verifier().verify(await sign(userClaims(clock(), { oid: 42 }), key)));
    expect(err.message).toMatch(/object id/);
  });
});

describe('Azure AD verifier: integrations (client credentials)', () => {
  it('maps an app-only token to a service with its integration role in its bound tenants', async () => {
    const p = makePrincipal(await verifier().verify(await sign(appClaims(clock()), key)));
    expect(p.kind).toBe('service');
    expect(p.id).toBe('sp-oid-lms');
    expect([...p.integrationRoles]).toEqual(['labs.manage']);
    expect([...p.integrationTenants]).toEqual(['cs101', 'cs102']);
    expect(p.platformAdmin).toBe(false);
  });

  it('recognises an app-only token without idtyp by the absence of scp and oid equal to sub', async () => {
    const claims = appClaims(clock(), { idtyp: undefined, azp: undefined, appid: LMS_APP_ID, roles: ['LabPlane.Read'] });
    const p = await verifier().verify(await sign(claims, key));
    expect(p.kind).toBe('service');
    expect([...(p.integrationRoles ?? [])]).toEqual(['read']);
  });

  it('refuses an application with no mapped role, and one with a role but no tenant binding', async () => {
    const noRole = await refusal(verifier().verify(await sign(appClaims(clock(), { roles: ['Other.Role'] }), key)));
    expect(noRole.message).toMatch(/no role or tenant binding/);
    const unbound = appClaims(clock(), { azp: 'dddddddd-0000-4000-8000-000000000009' });
    await refusal(verifier().verify(await sign(unbound, key)));
  });

  it('does not map prototype property names used as role values', async () => {
    const claims = appClaims(clock(), { roles: ['constructor', '__proto__', 'toString'] });
    await refusal(verifier().verify(await sign(claims, key)));
  });

  it('lets an application holding the admin app role act as platform admin', async () => {
    const claims = appClaims(clock(), { azp: 'eeeeeeee-0000-4000-8000-000000000005', roles: ['LabPlane.Admin'] });
    const p = await verifier().verify(await sign(claims, key));
    expect(p).toMatchObject({ kind: 'service', platformAdmin: true });
  });
});

describe('Azure AD verifier: issuer, tenant, audience and time', () => {
  const cases: Array<[string, (now: number) => Record<string, unknown>, RegExp]> = [
    ['an issuer of a tenant outside the allow-list', () => ({ iss: issuerOf(FOREIGN_TENANT), tid: FOREIGN_TENANT }), /accepted tenant/],
    ['a v1 issuer (sts.windows.net)', () => ({ iss: `https://sts.windows.net/${TENANT_A}/` }), /accepted tenant/],
    ['an issuer that does not match the tid claim', () => ({ iss: issuerOf(TENANT_A), tid: TENANT_B }), /does not match/],
    ['an allowed issuer with a tid outside the allow-list', () => ({ tid: FOREIGN_TENANT }), /tenant that is not accepted/],
    ['a missing tid', () => ({ tid: undefined }), /'tid'/],
    ['another audience', () => ({ aud: 'api://some-other-api' }), /not meant for this API/],
    ['a Microsoft Graph token (another API)', () => ({ aud: '00000003-0000-0000-c000-000000000000', scp: 'User.Read' }), /not meant for this API/],
    ['an expired token beyond the skew', (n) => ({ exp: Math.floor(n / 1000) - 61 }), /expired/],
    ['a token not valid yet beyond the skew', (n) => ({ nbf: Math.floor(n / 1000) + 120 }), /not valid yet/],
    ['a token without exp', () => ({ exp: undefined }), /'exp'/],
    ['a token without iat', () => ({ iat: undefined }), /'iat'/],
    [
      'a token issued a day in the future',
      (n) => ({ iat: Math.floor(n / 1000) + 86_400, nbf: undefined, exp: Math.floor(n / 1000) + 90_000 }),
      /issued in the future/,
    ],
    ['a token valid for ten years', (n) => ({ exp: Math.floor(n / 1000) + 10 * 365 * 86_400 }), /longer than this API accepts/],
    ['a v1.0 token', () => ({ ver: '1.0' }), /v2\.0/],
  ];

  it.each(cases)('refuses %s', async (_name, claims, reason) => {
    const token = await sign(userClaims(clock(), claims(clock())), key);
    const err = await refusal(verifier().verify(token));
    expect(err.code).toBe('UNAUTHENTICATED');
    expect(err.message).toMatch(reason);
  });

  it('accepts expiry and not-before within the configured skew', async () => {
    const s = Math.floor(clock() / 1000);
    const v = verifier({ clockToleranceSeconds: 60 });
    await expect(v.verify(await sign(userClaims(clock(), { exp: s - 30 }), key))).resolves.toMatchObject({ id: 'user-oid-0001' });
    await expect(v.verify(await sign(userClaims(clock(), { nbf: s + 30 }), key))).resolves.toMatchObject({ id: 'user-oid-0001' });
  });

  it('follows the injected clock: a token valid now is expired an hour and two minutes later', async () => {
    const v = verifier();
    const token = await sign(userClaims(clock()), key);
    await expect(v.verify(token)).resolves.toMatchObject({ kind: 'user' });
    clock.advance(3_720_000);
    expect((await refusal(v.verify(token))).message).toMatch(/expired/);
  });
});
