import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LtiRegistrationRepository } from '../../src/domain/lti/ports.js';
import type { LtiRegistration, LtiRegistrationInput } from '../../src/domain/lti/registration.js';
import { isDomainError } from '../../src/domain/shared/errors.js';

/** Tenants every fixture knows (any other is unknown: a create there is NotFoundError('tenant')). */
export const LTI_TENANTS = ['la', 'lb'] as const;

export interface LtiRegistrationFixture {
  readonly repo: LtiRegistrationRepository;
  /**
   * A change of the registration by someone else (another replica): its stored version moves on.
   * Resolves once this repository can see it.
   */
  touch(registration: LtiRegistration): Promise<void>;
  close(): Promise<void>;
}

export function ltiInput(over: Partial<LtiRegistrationInput> = {}): LtiRegistrationInput {
  return {
    displayName: 'Canvas (production)',
    issuer: 'https://canvas.instructure.com',
    clientId: `10000000000${Math.floor(Math.random() * 1e6)}`,
    deploymentIds: ['1:0a1b2c3d'],
    authLoginUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
    accessTokenUrl: 'https://sso.canvaslms.com/login/oauth2/token',
    jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
    ...over,
  };
}

export function ltiRecord(tenant: string, over: Partial<LtiRegistrationInput> = {}): Omit<LtiRegistration, 'version'> {
  return { id: randomUUID(), tenant, ...ltiInput(over), createdAt: new Date().toISOString(), createdBy: 'olga' };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isDomainError(err) ? err.code : `not a domain error: ${String(err)}`;
  }
  return undefined;
}

/** The behaviour every `LtiRegistrationRepository` keeps; `make` gives a fresh one per test. */
export function ltiRegistrationRepositoryContract(name: string, make: () => Promise<LtiRegistrationFixture>): void {
  describe(`LTI registration repository (${name})`, () => {
    const withFixture = (fn: (fx: LtiRegistrationFixture) => Promise<void>) => async () => {
      const fx = await make();
      try {
        await fn(fx);
      } finally {
        await fx.close();
      }
    };

    it(
      'reads back what was created, by tenant, id, (issuer, clientId) and issuer; another tenant sees nothing',
      withFixture(async ({ repo }) => {
        const r = ltiRecord('la');
        const created = await repo.create(r);
        expect(created).toMatchObject(r);
        expect(created.version).not.toBe('');
        expect(await repo.get('la', r.id)).toEqual(created);
        expect(await repo.list('la')).toEqual([created]);
        expect(await repo.findByClient(r.issuer, r.clientId)).toEqual(created);
        expect(await repo.findByClient(r.issuer, `${r.clientId}x`)).toBeUndefined();
        expect(await repo.findByClient(`${r.issuer}/`, r.clientId)).toBeUndefined();
        expect(await repo.findByIssuer(r.issuer)).toEqual([created]);
        expect(await repo.findByIssuer('https://moodle.example.edu')).toEqual([]);
        expect(await repo.get('lb', r.id)).toBeUndefined();
        expect(await repo.list('lb')).toEqual([]);
        expect(await repo.get('la', randomUUID())).toBeUndefined();
      }),
    );

    it(
      'keeps (issuer, clientId) unique across tenants: a second create is LTI_REGISTRATION_EXISTS and writes nothing',
      withFixture(async ({ repo }) => {
        const r = ltiRecord('la');
        await repo.create(r);
        expect(await codeOf(repo.create({ ...ltiRecord('lb'), issuer: r.issuer, clientId: r.clientId }))).toBe('LTI_REGISTRATION_EXISTS');
        expect(await repo.list('lb')).toEqual([]);
        // The same client id at another issuer is another registration.
        await repo.create({ ...ltiRecord('lb'), issuer: 'https://moodle.example.edu', clientId: r.clientId });
        expect(await repo.list('lb')).toHaveLength(1);
        expect(await repo.findByIssuer(r.issuer)).toHaveLength(1);
      }),
    );

    it(
      'refuses a create in a tenant that does not exist',
      withFixture(async ({ repo }) => {
        expect(await codeOf(repo.create(ltiRecord('nope')))).toBe('TENANT_NOT_FOUND');
      }),
    );

    it(
      'updates in place with a new version; a stale If-Match is VERSION_MISMATCH; another tenant cannot update',
      withFixture(async ({ repo, touch }) => {
        const created = await repo.create(ltiRecord('la'));
        const { displayName: _dropped, ...input } = ltiInput({ issuer: created.issuer, clientId: created.clientId, deploymentIds: ['a', 'b'] });
        const updated = await repo.update('la', created.id, input, created.version);
        expect(updated).toMatchObject({ id: created.id, tenant: 'la', deploymentIds: ['a', 'b'], createdAt: created.createdAt, createdBy: 'olga' });
        expect(updated.displayName).toBeUndefined();
        expect(updated.version).not.toBe(created.version);
        expect(await repo.get('la', created.id)).toEqual(updated);
        expect(await codeOf(repo.update('la', created.id, input, created.version))).toBe('VERSION_MISMATCH');
        await touch(updated);
        expect(await codeOf(repo.update('la', created.id, input, updated.version))).toBe('VERSION_MISMATCH');
        // Without If-Match the last write wins.
        expect((await repo.update('la', created.id, { ...input, deploymentIds: ['c'] })).deploymentIds).toEqual(['c']);
        expect(await codeOf(repo.update('lb', created.id, input))).toBe('LTI_REGISTRATION_NOT_FOUND');
        expect(await codeOf(repo.update('la', randomUUID(), input))).toBe('LTI_REGISTRATION_NOT_FOUND');
      }),
    );

    it(
      'moves a registration to a new (issuer, clientId) keeping its id; a pair taken by another is LTI_REGISTRATION_EXISTS',
      withFixture(async ({ repo }) => {
        const a = await repo.create(ltiRecord('la'));
        const b = await repo.create(ltiRecord('lb'));
        const moved = await repo.update('la', a.id, ltiInput({ issuer: 'https://moodle.example.edu', clientId: 'Xy12' }), a.version);
        expect(moved).toMatchObject({ id: a.id, tenant: 'la', issuer: 'https://moodle.example.edu', clientId: 'Xy12' });
        expect(await repo.findByClient(a.issuer, a.clientId)).toBeUndefined();
        expect(await repo.findByClient('https://moodle.example.edu', 'Xy12')).toEqual(moved);
        expect(await repo.list('la')).toEqual([moved]);
        expect(await codeOf(repo.update('la', a.id, ltiInput({ issuer: b.issuer, clientId: b.clientId })))).toBe('LTI_REGISTRATION_EXISTS');
        expect(await repo.get('la', a.id)).toEqual(moved);
        expect(await repo.get('lb', b.id)).toEqual(b);
      }),
    );

    it(
      'deletes one (false when absent or another tenant’s) and every one of a tenant',
      withFixture(async ({ repo }) => {
        const a = await repo.create(ltiRecord('la'));
        const a2 = await repo.create(ltiRecord('la'));
        const b = await repo.create(ltiRecord('lb'));
        expect(await repo.delete('lb', a.id)).toBe(false);
        expect(await repo.delete('la', a.id)).toBe(true);
        expect(await repo.delete('la', a.id)).toBe(false);
        expect(await repo.get('la', a.id)).toBeUndefined();
        expect(await repo.findByClient(a.issuer, a.clientId)).toBeUndefined();
        // The pair is free again.
        await repo.create({ ...ltiRecord('lb'), issuer: a.issuer, clientId: a.clientId });
        expect(await repo.deleteAll('lb')).toBe(2);
        expect(await repo.deleteAll('lb')).toBe(0);
        expect(await repo.list('lb')).toEqual([]);
        expect((await repo.get('la', a2.id))?.id).toBe(a2.id);
        expect(await repo.get('lb', b.id)).toBeUndefined();
      }),
    );
  });
}
