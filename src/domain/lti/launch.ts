import { CLAIM, LTI_VERSION, MESSAGE_TYPE } from './claims.js';
import type { LtiRegistration } from './registration.js';

/** Status of a refusal page: malformed request, failed verification, not allowed, unknown lab, platform unreachable. */
export type RefusalStatus = 400 | 401 | 403 | 404 | 502;

/**
 * Why a launch (or an LTI page action) was refused: `status` for the page, `reason` a short stable
 * word for logs and audit, `message` what the person is told. Never holds a token.
 */
export class LtiLaunchRefused extends Error {
  constructor(
    readonly status: RefusalStatus,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'LtiLaunchRefused';
  }
}

/** Verifies a platform's id_token: RS256 only with a `kid`, signature against the registration's JWKS, `iss`, `aud`, `exp`, `iat`. */
export interface PlatformTokenVerifier {
  /** The verified claims; throws {@link LtiLaunchRefused}. */
  verify(idToken: string, registration: LtiRegistration): Promise<Readonly<Record<string, unknown>>>;
}

/** Allowed clock skew between the platform and us, seconds. */
export const LAUNCH_CLOCK_SKEW_SECONDS = 60;

export interface ResourceLinkClaim {
  readonly id: string;
  readonly title?: string;
}
export interface ContextClaim {
  readonly id: string;
  readonly title?: string;
  readonly label?: string;
}
export interface DeepLinkingSettings {
  readonly returnUrl: string;
  readonly acceptTypes: readonly string[];
  readonly acceptMultiple?: boolean;
  readonly data?: string;
}

/** What a verified launch says, checked against LTI 1.3 Core §5.3 and Deep Linking 2.0 §4.4. */
export interface LaunchClaims {
  readonly messageType: 'LtiResourceLinkRequest' | 'LtiDeepLinkingRequest';
  readonly sub: string;
  readonly deploymentId: string;
  readonly roles: readonly string[];
  readonly name?: string;
  readonly email?: string;
  readonly context?: ContextClaim;
  readonly resourceLink?: ResourceLinkClaim;
  readonly deepLinking?: DeepLinkingSettings;
  /** Custom parameters (`https://purl.imsglobal.org/spec/lti/claim/custom`), string values only. */
  readonly custom: Readonly<Record<string, string>>;
  /** NRPS `context_memberships_url`, when the platform offers the service. */
  readonly membershipsUrl?: string;
}

const MAX_CLAIM_STRING = 2048;

function str(v: unknown, max = MAX_CLAIM_STRING): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function refuse(status: RefusalStatus, reason: string, message: string): never {
  throw new LtiLaunchRefused(status, reason, message);
}

/**
 * Checks the LTI claims of a verified id_token for `registration` (the signature, `iss`, `aud`,
 * `exp` and `iat` are the verifier's): `azp` when `aud` has several values, the nonce, the
 * deployment, message type, version, roles, subject, and the claims each message type requires.
 */
export function checkLaunchClaims(payload: Readonly<Record<string, unknown>>, registration: LtiRegistration, expectedNonce: string): LaunchClaims {
  const aud = payload['aud'];
  if (Array.isArray(aud) && aud.length > 1 && payload['azp'] !== registration.clientId) {
    refuse(401, 'azp', 'The launch names several audiences but not this tool as its authorized party (azp).');
  }
  if (payload['azp'] !== undefined && payload['azp'] !== registration.clientId) refuse(401, 'azp', 'The launch was issued to another client (azp).');
  if (payload['nonce'] !== expectedNonce) refuse(401, 'nonce', 'The launch does not carry the nonce this sign-in was started with.');
  const deploymentId = str(payload[CLAIM.deploymentId], 255);
  if (deploymentId === undefined) refuse(400, 'deployment_id', 'The launch names no deployment.');
  if (!registration.deploymentIds.includes(deploymentId))
    refuse(403, 'deployment', 'This deployment of the tool is not registered for this platform.');
  const messageType = payload[CLAIM.messageType];
  if (messageType !== MESSAGE_TYPE.resourceLink && messageType !== MESSAGE_TYPE.deepLinkingRequest) {
    refuse(400, 'message_type', 'This tool accepts resource link launches and deep linking requests only.');
  }
  if (payload[CLAIM.version] !== LTI_VERSION) refuse(400, 'version', `This tool speaks LTI ${LTI_VERSION} only.`);
  const roles = payload[CLAIM.roles];
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) refuse(400, 'roles', 'The launch carries no list of roles.');
  const sub = str(payload['sub'], 255);
  if (sub === undefined) refuse(400, 'sub', 'Anonymous launches are not accepted: the launch names no user (sub).');

  const ctx = obj(payload[CLAIM.context]);
  const contextId = str(ctx?.['id'], 255);
  const context: ContextClaim | undefined =
    contextId === undefined
      ? undefined
      : {
          id: contextId,
          ...(str(ctx?.['title']) === undefined ? {} : { title: str(ctx?.['title']) as string }),
          ...(str(ctx?.['label']) === undefined ? {} : { label: str(ctx?.['label']) as string }),
        };
  const customRaw = obj(payload[CLAIM.custom]) ?? {};
  const custom = Object.fromEntries(Object.entries(customRaw).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const membershipsUrl = str(obj(payload[CLAIM.nrps])?.['context_memberships_url'], 4096);
  const name = str(payload['name'], 512);
  const email = str(payload['email'], 320);
  const common = {
    sub,
    deploymentId,
    roles: roles as string[],
    custom,
    ...(name === undefined ? {} : { name }),
    ...(email === undefined ? {} : { email }),
    ...(context === undefined ? {} : { context }),
    ...(membershipsUrl === undefined ? {} : { membershipsUrl }),
  };

  if (messageType === MESSAGE_TYPE.resourceLink) {
    const link = obj(payload[CLAIM.resourceLink]);
    const id = str(link?.['id'], 255);
    if (id === undefined) refuse(400, 'resource_link', 'The launch names no resource link.');
    const title = str(link?.['title']);
    return { messageType, ...common, resourceLink: { id, ...(title === undefined ? {} : { title }) } };
  }
  const settings = obj(payload[CLAIM.deepLinkingSettings]);
  const returnUrl = str(settings?.['deep_link_return_url'], 4096);
  if (returnUrl === undefined || !/^https?:\/\//i.test(returnUrl))
    refuse(400, 'deep_linking_settings', 'The deep linking request has no return URL.');
  const acceptTypes = settings?.['accept_types'];
  if (!Array.isArray(acceptTypes) || !acceptTypes.every((t) => typeof t === 'string')) {
    refuse(400, 'deep_linking_settings', 'The deep linking request does not say which content it accepts (accept_types).');
  }
  const data = str(settings?.['data'], 4096);
  const acceptMultiple = settings?.['accept_multiple'];
  return {
    messageType,
    ...common,
    deepLinking: {
      returnUrl,
      acceptTypes: acceptTypes as string[],
      ...(typeof acceptMultiple === 'boolean' ? { acceptMultiple } : {}),
      ...(data === undefined ? {} : { data }),
    },
  };
}
