import { authorize, canSeeTenant } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { ConflictError, NotFoundError, ValidationError, type FieldIssue } from '../shared/errors.js';
import type { Clock, IdGenerator } from '../shared/ids.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { LtiRegistrationRepository, ToolKeys } from './ports.js';
import { MAX_LTI_DEPLOYMENTS, MAX_LTI_REGISTRATIONS_PER_TENANT, type LtiRegistration, type LtiRegistrationInput } from './registration.js';
import { ltiToolConfiguration, type LtiToolConfiguration } from './tool-configuration.js';
import { keyedSerializer } from '../shared/serialized.js';
import type { Precondition } from '../shared/precondition.js';

/** Longest URL accepted for the issuer and the platform's endpoints. */
export const MAX_LTI_URL_LENGTH = 2048;
export const MAX_LTI_CLIENT_ID_LENGTH = 255;
export const MAX_LTI_DEPLOYMENT_ID_LENGTH = 255;
export const MAX_LTI_DISPLAY_NAME_LENGTH = 256;

export interface LtiRegistrationServiceDeps {
  readonly repo: LtiRegistrationRepository;
  readonly tenants: Pick<TenantRepository, 'get'>;
  readonly ids: IdGenerator;
  readonly clock: Clock;
  /**
   * Accept `http://` for the issuer and the platform's URLs: only while the service runs its
   * simulated cluster (a platform on this machine). Everywhere else they must be https.
   */
  readonly allowHttp: boolean;
  /** The tool's keys: published by `jwks`, rotated by `rotateKeys`. */
  readonly keys: Pick<ToolKeys, 'jwks' | 'rotate'>;
}

export type LtiRegistrationService = ReturnType<typeof createLtiRegistrationService>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Printable characters only (no control characters, no line breaks). */
const PRINTABLE = /^[^\p{Cc}]*$/u;

function checkUrl(issues: FieldIssue[], field: string, value: unknown, allowHttp: boolean, issuer: boolean): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_LTI_URL_LENGTH) {
    issues.push({ field, message: `a URL of 1-${MAX_LTI_URL_LENGTH} characters` });
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    issues.push({ field, message: 'not a valid absolute URL' });
    return;
  }
  const schemes = allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    issues.push({ field, message: allowHttp ? 'must be an https:// (or http://) URL' : 'must be an https:// URL' });
    return;
  }
  if (url.username !== '' || url.password !== '') issues.push({ field, message: 'must not hold credentials' });
  if (url.hostname === '') issues.push({ field, message: 'must name a host' });
  if (!PRINTABLE.test(value) || /\s/.test(value)) issues.push({ field, message: 'must not contain spaces or control characters' });
  // LTI 1.3 Core §5.1.2: the issuer has a scheme, host, optional port and path, and no query or fragment.
  if (issuer && (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#'))) {
    issues.push({ field, message: 'an issuer has no query or fragment (LTI 1.3 Core §5.1.2)' });
  }
}

function checkId(issues: FieldIssue[], field: string, value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) issues.push({ field, message: `1-${max} characters` });
  else if (!PRINTABLE.test(value)) issues.push({ field, message: 'must not contain control characters' });
}

/** Field errors of a registration (JSON Pointers into the body); none when it is valid. */
export function registrationIssues(input: LtiRegistrationInput, allowHttp: boolean): FieldIssue[] {
  const issues: FieldIssue[] = [];
  checkUrl(issues, '/issuer', input.issuer, allowHttp, true);
  checkId(issues, '/clientId', input.clientId, MAX_LTI_CLIENT_ID_LENGTH);
  const ids: unknown = input.deploymentIds;
  if (!Array.isArray(ids) || ids.length === 0 || ids.length > MAX_LTI_DEPLOYMENTS) {
    issues.push({ field: '/deploymentIds', message: `1-${MAX_LTI_DEPLOYMENTS} deployment ids` });
  } else {
    ids.forEach((d, i) => checkId(issues, `/deploymentIds/${i}`, d, MAX_LTI_DEPLOYMENT_ID_LENGTH));
    if (new Set(ids).size !== ids.length) issues.push({ field: '/deploymentIds', message: 'deployment ids must be unique' });
  }
  checkUrl(issues, '/authLoginUrl', input.authLoginUrl, allowHttp, false);
  checkUrl(issues, '/accessTokenUrl', input.accessTokenUrl, allowHttp, false);
  checkUrl(issues, '/jwksUrl', input.jwksUrl, allowHttp, false);
  if (input.displayName !== undefined) {
    if (typeof input.displayName !== 'string' || input.displayName.length > MAX_LTI_DISPLAY_NAME_LENGTH) {
      issues.push({ field: '/displayName', message: `at most ${MAX_LTI_DISPLAY_NAME_LENGTH} characters` });
    } else if (!PRINTABLE.test(input.displayName)) {
      issues.push({ field: '/displayName', message: 'must not contain control characters' });
    }
  }
  return issues;
}

/** The input as stored: only the known fields, an empty display name dropped. */
function normalized(input: LtiRegistrationInput): LtiRegistrationInput {
  return {
    ...(input.displayName === undefined || input.displayName === '' ? {} : { displayName: input.displayName }),
    issuer: input.issuer,
    clientId: input.clientId,
    deploymentIds: [...input.deploymentIds],
    authLoginUrl: input.authLoginUrl,
    accessTokenUrl: input.accessTokenUrl,
    jwksUrl: input.jwksUrl,
  };
}

function taken(issuer: string, clientId: string): ConflictError {
  return new ConflictError(
    'LTI_REGISTRATION_EXISTS',
    'This platform issuer and client id are already registered; each pair may be registered once across the whole service.',
    { details: { issuer, clientId } },
  );
}

/**
 * LTI 1.3 platform registrations of a tenant (`lti.manage`: tenant owners and platform admins;
 * another tenant's answer 404). The pair (issuer, clientId) is unique across every tenant
 * (ConflictError `LTI_REGISTRATION_EXISTS`), so a launch reaches exactly one tenant; a tenant holds
 * at most `MAX_LTI_REGISTRATIONS_PER_TENANT` (ConflictError `LTI_REGISTRATION_LIMIT_REACHED`).
 */
export function createLtiRegistrationService(deps: LtiRegistrationServiceDeps) {
  const { repo } = deps;
  /** Creates of one tenant run one at a time in this process, so the cap holds against concurrent requests. */
  const serialized = keyedSerializer();

  async function authorizeOn(p: Principal, tenant: string): Promise<void> {
    authorize(p, 'lti.manage', { tenant });
    const found = canSeeTenant(p, tenant) ? await deps.tenants.get(tenant) : undefined;
    if (found === undefined) throw new NotFoundError('tenant', tenant);
  }

  async function load(tenant: string, id: string): Promise<LtiRegistration> {
    const r = UUID.test(id) ? await repo.get(tenant, id) : undefined;
    if (r === undefined || r.tenant !== tenant) throw new NotFoundError('lti_registration', id);
    return r;
  }

  function validated(input: LtiRegistrationInput): LtiRegistrationInput {
    const issues = registrationIssues(input, deps.allowHttp);
    if (issues.length > 0) throw new ValidationError('The LTI platform registration is not valid.', issues);
    return normalized(input);
  }

  return {
    /** The tenant's registrations, oldest first. */
    async list(p: Principal, tenant: string): Promise<LtiRegistration[]> {
      await authorizeOn(p, tenant);
      return [...(await repo.list(tenant))].filter((r) => r.tenant === tenant).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    },

    async get(p: Principal, tenant: string, id: string): Promise<LtiRegistration> {
      await authorizeOn(p, tenant);
      return load(tenant, id);
    },

    async create(p: Principal, tenant: string, input: LtiRegistrationInput): Promise<LtiRegistration> {
      await authorizeOn(p, tenant);
      const fields = validated(input);
      return serialized(tenant, async () => {
        const count = (await repo.list(tenant)).length;
        if (count >= MAX_LTI_REGISTRATIONS_PER_TENANT) {
          throw new ConflictError(
            'LTI_REGISTRATION_LIMIT_REACHED',
            `A tenant may register at most ${MAX_LTI_REGISTRATIONS_PER_TENANT} LTI platforms; delete one first.`,
            { details: { limit: MAX_LTI_REGISTRATIONS_PER_TENANT, registered: count } },
          );
        }
        if ((await repo.findByClient(fields.issuer, fields.clientId)) !== undefined) throw taken(fields.issuer, fields.clientId);
        return repo.create({ ...fields, id: deps.ids.next(), tenant, createdAt: deps.clock.now().toISOString(), createdBy: p.id });
      });
    },

    /** Replaces the registration's fields; with `ifMatch`, a registration changed meanwhile is PreconditionFailedError. */
    async update(p: Principal, tenant: string, id: string, input: LtiRegistrationInput, ifMatch?: string): Promise<LtiRegistration> {
      await authorizeOn(p, tenant);
      const fields = validated(input);
      await load(tenant, id);
      const other = await repo.findByClient(fields.issuer, fields.clientId);
      if (other !== undefined && other.id !== id) throw taken(fields.issuer, fields.clientId);
      return repo.update(tenant, id, fields, ifMatch);
    },

    async delete(p: Principal, tenant: string, id: string, precondition?: Precondition<LtiRegistration>): Promise<void> {
      await authorizeOn(p, tenant);
      precondition?.(await load(tenant, id));
      if (!(await repo.delete(tenant, id))) throw new NotFoundError('lti_registration', id);
    },

    /** What the tenant's LMS administrator enters, with URLs under `origin` (PUBLIC_URL or the request's origin). */
    async toolConfiguration(p: Principal, tenant: string, origin: string): Promise<LtiToolConfiguration> {
      await authorizeOn(p, tenant);
      return ltiToolConfiguration(origin);
    },

    /** The tool's public keys (public: platforms fetch them without credentials). */
    jwks: () => deps.keys.jwks(),

    /** A new current signing key now (`ltiKeys.rotate`: platform admins). */
    async rotateKeys(p: Principal): Promise<void> {
      authorize(p, 'ltiKeys.rotate');
      await deps.keys.rotate();
    },
  };
}

function key(r: LtiRegistration): string {
  return `${r.createdAt}|${r.id}`;
}
