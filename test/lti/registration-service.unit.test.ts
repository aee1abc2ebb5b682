import { describe, expect, it } from 'vitest';
import { createMemoryLtiRegistrationRepository } from '../../src/adapters/memory/lti-registration-repository.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { createLtiRegistrationService, registrationIssues } from '../../src/domain/lti/registration-service.js';
import { MAX_LTI_DEPLOYMENTS, MAX_LTI_REGISTRATIONS_PER_TENANT } from '../../src/domain/lti/registration.js';
import { ltiToolConfiguration } from '../../src/domain/lti/tool-configuration.js';
import { isDomainError } from '../../src/domain/shared/errors.js';
import { ltiInput } from '../contracts/lti-registration-repository.contract.js';

const TENANTS = ['ta', 'tb'];
const admin = makePrincipal({ id: 'root', platformAdmin: true });
const owner = makePrincipal({ id: 'olga', tenantRoles: [['ta', 'owner']] });
const ownerB = makePrincipal({ id: 'bob', tenantRoles: [['tb', 'owner']] });
const member = makePrincipal({ id: 'mia', tenantRoles: [['ta', 'member']] });
const integration = makePrincipal({ id: 'app', kind: 'service', integrationRoles: ['labs.manage'], integrationTenants: ['ta'] });

function service(allowHttp = false) {
  let rotations = 0;
  const repo = createMemoryLtiRegistrationRepository({ tenantExists: (t) => TENANTS.includes(t) });
  const svc = createLtiRegistrationService({
    repo,
    tenants: { get: async (t) => (TENANTS.includes(t) ? ({ id: t } as never) : undefined) },
    ids: { next: () => crypto.randomUUID() },
    clock: { now: () => new Date('2026-03-01T10:00:00Z') },
    allowHttp,
    keys: { jwks: async () => ({ keys: [] }), rotate: async () => void (rotations += 1) },
  });
  return { svc, repo, rotations: () => rotations };
}

async function failure(p: Promise<unknown>): Promise<{ code: string; fields?: string[] } | undefined> {
  try {
    await p;
  } catch (err) {
    if (!isDomainError(err)) throw err;
    const issues = (err as { issues?: Array<{ field: string }> }).issues;
    return { code: err.code, ...(issues === undefined ? {} : { fields: issues.map((i) => i.field) }) };
  }
  return undefined;
}

describe('registration validation', () => {
  it('accepts a well-formed registration', () => {
    expect(registrationIssues(ltiInput(), false)).toEqual([]);
  });

  it('issuer and platform URLs: https only (http with allowHttp), no credentials; the issuer has no query or fragment (LTI Core §5.1.2)', () => {
    const fields = (over: Parameters<typeof ltiInput>[0], allowHttp = false) => registrationIssues(ltiInput(over), allowHttp).map((i) => i.field);
    expect(fields({ issuer: 'http://lms.example.edu' })).toEqual(['/issuer']);
    expect(fields({ issuer: 'http://lms.example.edu' }, true)).toEqual([]);
    expect(fields({ issuer: 'https://lms.example.edu/?tenant=1' })).toEqual(['/issuer']);
    expect(fields({ issuer: 'https://lms.example.edu/#x' })).toEqual(['/issuer']);
    expect(fields({ issuer: 'lms.example.edu' })).toEqual(['/issuer']);
    expect(fields({ issuer: 'https://lms.example.edu:8443/moodle' })).toEqual([]);
    expect(fields({ authLoginUrl: 'http://lms.example.edu/auth' })).toEqual(['/authLoginUrl']);
    expect(fields({ authLoginUrl: 'https://lms.example.edu/auth?x=1' })).toEqual([]);
    expect(fields({ accessTokenUrl: 'https://user:pw@lms.example.edu/token' })).toEqual(['/accessTokenUrl']);
    expect(fields({ jwksUrl: 'javascript:alert(1)' }, true)).toEqual(['/jwksUrl']);
    expect(fields({ jwksUrl: `https://lms.example.edu/${'a'.repeat(2048)}` })).toEqual(['/jwksUrl']);
  });

  it('clientId 1..255, deploymentIds 1..MAX each 1..255 and unique, displayName ≤ 256, no control characters', () => {
    const fields = (over: Parameters<typeof ltiInput>[0]) => registrationIssues(ltiInput(over), false).map((i) => i.field);
    expect(fields({ clientId: '' })).toEqual(['/clientId']);
    expect(fields({ clientId: 'x'.repeat(256) })).toEqual(['/clientId']);
    expect(fields({ clientId: 'x'.repeat(255) })).toEqual([]);
    expect(fields({ clientId: 'a\nb' })).toEqual(['/clientId']);
    expect(fields({ deploymentIds: [] })).toEqual(['/deploymentIds']);
    expect(fields({ deploymentIds: Array.from({ length: MAX_LTI_DEPLOYMENTS + 1 }, (_, i) => String(i)) })).toEqual(['/deploymentIds']);
    expect(fields({ deploymentIds: ['a', 'a'] })).toEqual(['/deploymentIds']);
    expect(fields({ deploymentIds: ['a', ''] })).toEqual(['/deploymentIds/1']);
    expect(fields({ displayName: 'x'.repeat(257) })).toEqual(['/displayName']);
    expect(fields({ displayName: 'x'.repeat(256) })).toEqual([]);
  });
});

describe('registration use cases', () => {
  it('owners and platform admins manage; a member is FORBIDDEN, an integration too; another tenant’s owner sees 404', async () => {
    const { svc } = service();
    const r = await svc.create(owner, 'ta', ltiInput());
    expect(r).toMatchObject({ tenant: 'ta', createdBy: 'olga', createdAt: '2026-03-01T10:00:00.000Z' });
    expect((await svc.list(admin, 'ta')).map((x) => x.id)).toEqual([r.id]);
    expect((await failure(svc.list(member, 'ta')))?.code).toBe('FORBIDDEN');
    expect((await failure(svc.create(member, 'ta', ltiInput())))?.code).toBe('FORBIDDEN');
    expect((await failure(svc.create(integration, 'ta', ltiInput())))?.code).toBe('FORBIDDEN');
    expect((await failure(svc.get(ownerB, 'ta', r.id)))?.code).toBe('TENANT_NOT_FOUND');
    expect((await failure(svc.get(ownerB, 'tb', r.id)))?.code).toBe('LTI_REGISTRATION_NOT_FOUND');
    expect((await failure(svc.delete(ownerB, 'tb', r.id)))?.code).toBe('LTI_REGISTRATION_NOT_FOUND');
    expect((await failure(svc.get(owner, 'ta', 'not-a-uuid')))?.code).toBe('LTI_REGISTRATION_NOT_FOUND');
    expect((await failure(svc.list(admin, 'nope')))?.code).toBe('TENANT_NOT_FOUND');
  });

  it('refuses invalid input with every offending field, writing nothing', async () => {
    const { svc, repo } = service();
    const f = await failure(svc.create(owner, 'ta', ltiInput({ issuer: 'x', clientId: '', jwksUrl: 'http://a.example.edu' })));
    expect(f).toEqual({ code: 'VALIDATION_FAILED', fields: ['/issuer', '/clientId', '/jwksUrl'] });
    expect(await repo.list('ta')).toEqual([]);
  });

  it('(issuer, clientId) is unique across tenants, on create and on update', async () => {
    const { svc } = service();
    const a = await svc.create(owner, 'ta', ltiInput());
    expect((await failure(svc.create(ownerB, 'tb', ltiInput({ clientId: a.clientId }))))?.code).toBe('LTI_REGISTRATION_EXISTS');
    const b = await svc.create(ownerB, 'tb', ltiInput());
    expect((await failure(svc.update(ownerB, 'tb', b.id, ltiInput({ clientId: a.clientId }))))?.code).toBe('LTI_REGISTRATION_EXISTS');
    // Updating a registration with its own pair is no conflict.
    expect((await svc.update(owner, 'ta', a.id, ltiInput({ clientId: a.clientId, deploymentIds: ['z'] }))).deploymentIds).toEqual(['z']);
  });

  it(`caps a tenant at ${MAX_LTI_REGISTRATIONS_PER_TENANT}, also against concurrent creates`, async () => {
    const { svc, repo } = service();
    const results = await Promise.allSettled(Array.from({ length: MAX_LTI_REGISTRATIONS_PER_TENANT + 3 }, () => svc.create(owner, 'ta', ltiInput())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_LTI_REGISTRATIONS_PER_TENANT);
    const refused = results.find((r) => r.status === 'rejected');
    expect(isDomainError(refused?.reason) && refused.reason.code).toBe('LTI_REGISTRATION_LIMIT_REACHED');
    expect(await repo.list('ta')).toHaveLength(MAX_LTI_REGISTRATIONS_PER_TENANT);
    // Another tenant is not affected.
    await svc.create(ownerB, 'tb', ltiInput());
  });

  it('only platform admins rotate the tool keys; owners may read the tool configuration', async () => {
    const { svc, rotations } = service();
    expect((await failure(svc.rotateKeys(owner)))?.code).toBe('FORBIDDEN');
    await svc.rotateKeys(admin);
    expect(rotations()).toBe(1);
    expect((await svc.toolConfiguration(owner, 'ta', 'https://labs.example.edu/')).urls.login).toBe('https://labs.example.edu/lti/login');
    expect((await failure(svc.toolConfiguration(member, 'ta', 'https://labs.example.edu')))?.code).toBe('FORBIDDEN');
  });
});

describe('the tool configuration', () => {
  it('keeps a path prefix of the public URL', () => {
    const c = ltiToolConfiguration('https://uni.example.edu/labplane');
    expect(c.urls.jwks).toBe('https://uni.example.edu/labplane/lti/jwks');
    expect((c.canvas['extensions'] as Array<{ domain: string }>)[0]?.domain).toBe('uni.example.edu');
  });
});
