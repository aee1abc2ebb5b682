/**
 * A tenant's registration of one LTI 1.3 platform (an LMS: Canvas, Moodle, Blackboard, D2L) with
 * labplane as its tool. The pair (`issuer`, `clientId`) is unique across all tenants: a launch is
 * matched to exactly one registration, so to one tenant, and reaches only that tenant's labs.
 * Nothing here is secret: the platform's keys are fetched from `jwksUrl`, ours are published.
 */
export interface LtiRegistration {
  /** UUID. */
  readonly id: string;
  readonly tenant: string;
  readonly displayName?: string;
  /** The platform's issuer (`iss` of its id_tokens), e.g. `https://canvas.instructure.com`. */
  readonly issuer: string;
  /** The client id the platform gave labplane (`aud` of its id_tokens). */
  readonly clientId: string;
  /** Deployments of the tool on this platform that may launch (`https://purl.imsglobal.org/spec/lti/claim/deployment_id`). Non-empty. */
  readonly deploymentIds: readonly string[];
  /** The platform's OIDC authorization endpoint (where a login initiation is redirected). */
  readonly authLoginUrl: string;
  /** The platform's OAuth 2 token endpoint (client credentials, for NRPS). */
  readonly accessTokenUrl: string;
  /** The platform's public keys (JWKS) its id_tokens are signed with. */
  readonly jwksUrl: string;
  /** ISO 8601 (UTC). */
  readonly createdAt: string;
  /** Principal id of whoever registered it. */
  readonly createdBy: string;
  /** Opaque version (resourceVersion): updates may require it. */
  readonly version: string;
}

/** What a tenant owner gives to register a platform (PUT/POST body). */
export type LtiRegistrationInput = Pick<
  LtiRegistration,
  'displayName' | 'issuer' | 'clientId' | 'deploymentIds' | 'authLoginUrl' | 'accessTokenUrl' | 'jwksUrl'
>;

/** Registrations one tenant may have; one more is ConflictError. */
export const MAX_LTI_REGISTRATIONS_PER_TENANT = 20;
/** Deployment ids per registration. */
export const MAX_LTI_DEPLOYMENTS = 50;
