import type { LtiRegistrationRepository } from '../../domain/lti/ports.js';
import type { LtiRegistration } from '../../domain/lti/registration.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';

export interface MemoryLtiRegistrationRepositoryDeps {
  /** Tenants that exist; without it every tenant does. A create in another is NotFoundError('tenant'). */
  readonly tenantExists?: (tenant: string) => boolean;
}

/** In-memory `LtiRegistrationRepository` (tests and the contract suite), with fault injection. */
export interface MemoryLtiRegistrationRepository extends LtiRegistrationRepository {
  /** The next call (any method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
}

const pairKey = (issuer: string, clientId: string) => JSON.stringify([issuer, clientId]);

export function createMemoryLtiRegistrationRepository(deps: MemoryLtiRegistrationRepositoryDeps = {}): MemoryLtiRegistrationRepository {
  /** id → registration (ids are UUIDs: unique across tenants). */
  const byId = new Map<string, LtiRegistration>();
  let failure: Error | undefined;
  let versions = 0;

  function check(): void {
    const err = failure;
    failure = undefined;
    if (err !== undefined) throw err;
  }
  const copy = (r: LtiRegistration): LtiRegistration => structuredClone(r);
  const holder = (issuer: string, clientId: string) => [...byId.values()].find((r) => pairKey(r.issuer, r.clientId) === pairKey(issuer, clientId));
  const taken = (issuer: string, clientId: string) =>
    new ConflictError('LTI_REGISTRATION_EXISTS', 'This platform issuer and client id are already registered.', { details: { issuer, clientId } });

  return {
    failNext(err) {
      failure = err;
    },
    async list(tenant) {
      check();
      return [...byId.values()].filter((r) => r.tenant === tenant).map(copy);
    },
    async get(tenant, id) {
      check();
      const r = byId.get(id);
      return r?.tenant === tenant ? copy(r) : undefined;
    },
    async findByClient(issuer, clientId) {
      check();
      const r = holder(issuer, clientId);
      return r === undefined ? undefined : copy(r);
    },
    async findByIssuer(issuer) {
      check();
      return [...byId.values()].filter((r) => r.issuer === issuer).map(copy);
    },
    async create(registration) {
      check();
      if (deps.tenantExists !== undefined && !deps.tenantExists(registration.tenant)) throw new NotFoundError('tenant', registration.tenant);
      if (byId.has(registration.id) || holder(registration.issuer, registration.clientId) !== undefined) {
        throw taken(registration.issuer, registration.clientId);
      }
      const stored: LtiRegistration = { ...structuredClone(registration), version: String(++versions) };
      byId.set(stored.id, stored);
      return copy(stored);
    },
    async update(tenant, id, input, ifMatch) {
      check();
      const current = byId.get(id);
      if (current?.tenant !== tenant) throw new NotFoundError('lti_registration', id);
      if (ifMatch !== undefined && ifMatch !== current.version) {
        throw new PreconditionFailedError('VERSION_MISMATCH', 'The registration changed since the version given in If-Match.');
      }
      const other = holder(input.issuer, input.clientId);
      if (other !== undefined && other.id !== id) throw taken(input.issuer, input.clientId);
      const { displayName: _old, ...kept } = current;
      const next: LtiRegistration = {
        ...kept,
        ...structuredClone(input),
        deploymentIds: [...input.deploymentIds],
        version: String(++versions),
      };
      byId.set(id, next);
      return copy(next);
    },
    async delete(tenant, id) {
      check();
      if (byId.get(id)?.tenant !== tenant) return false;
      byId.delete(id);
      return true;
    },
    async deleteAll(tenant) {
      check();
      let n = 0;
      for (const r of [...byId.values()]) {
        if (r.tenant !== tenant) continue;
        byId.delete(r.id);
        n += 1;
      }
      return n;
    },
  };
}
