import type { webcrypto } from 'node:crypto';
import type { LtiRegistration, LtiRegistrationInput } from './registration.js';

/**
 * Where registrations are kept (Kubernetes: ConfigMaps in the control plane's namespace, labelled
 * with their tenant; memory in unit tests). Reads come from a watch-backed cache.
 */
export interface LtiRegistrationRepository {
  list(tenant: string): Promise<readonly LtiRegistration[]>;
  get(tenant: string, id: string): Promise<LtiRegistration | undefined>;
  /** The one registration a launch names, across tenants. */
  findByClient(issuer: string, clientId: string): Promise<LtiRegistration | undefined>;
  /** For a login initiation without `client_id`: every registration of that issuer. */
  findByIssuer(issuer: string): Promise<readonly LtiRegistration[]>;
  /** ConflictError when (`issuer`, `clientId`) is already registered (by any tenant). */
  create(registration: Omit<LtiRegistration, 'version'>): Promise<LtiRegistration>;
  /**
   * With `ifMatch`, a stale version is PreconditionFailedError. NotFoundError('lti_registration')
   * when there is none; ConflictError `LTI_REGISTRATION_EXISTS` when the new pair is another's.
   */
  update(tenant: string, id: string, input: LtiRegistrationInput, ifMatch?: string): Promise<LtiRegistration>;
  /** False when there was nothing to delete. */
  delete(tenant: string, id: string): Promise<boolean>;
  /** Deletes every registration of the tenant (its deletion); resolves how many there were. Idempotent. */
  deleteAll(tenant: string): Promise<number>;
}

/** The tool's own signing key (RS256), for Deep Linking responses and NRPS client assertions. */
export interface ToolSigningKey {
  readonly kid: string;
  readonly alg: 'RS256';
  readonly privateKey: webcrypto.CryptoKey;
}

/**
 * The tool's key pairs (Kubernetes: one Secret in the control plane's namespace). Rotation makes a
 * new current key and keeps the old one published until what it signed has expired.
 */
export interface ToolKeys {
  current(): Promise<ToolSigningKey>;
  /** Public keys to publish (current first), as a JWKS document. */
  jwks(): Promise<{ readonly keys: readonly Record<string, unknown>[] }>;
  rotate(): Promise<void>;
}

/** What a login initiation remembers until its launch comes back (single use). */
export interface LaunchState {
  readonly registrationId: string;
  readonly tenant: string;
  readonly nonce: string;
  readonly targetLinkUri: string;
  /** epoch ms */
  readonly createdAt: number;
}

/** Redis (expiring keys) in a deployment; memory in the embedded default. */
export interface LaunchStateStore {
  put(state: string, value: LaunchState, ttlSeconds: number): Promise<void>;
  /** Returns and removes it in one step (a second take of the same state is undefined). */
  take(state: string): Promise<LaunchState | undefined>;
}

/** Single-use values (id_token nonces): true the first time `key` is seen within `ttlSeconds`. */
export interface NonceLedger {
  useOnce(key: string, ttlSeconds: number): Promise<boolean>;
}

/** A user of the tenant's directory (Entra ID). */
export interface DirectoryUser {
  /** Object id, lower-case GUID. */
  readonly id: string;
  readonly displayName?: string;
  readonly email?: string;
  readonly userPrincipalName?: string;
}

export type DirectoryMatch = DirectoryUser | 'not-found' | 'ambiguous';

/** Finds directory users by email or UPN (Microsoft Graph; a simulated directory in the embedded default). */
export interface Directory {
  /** Keys of the result are the given addresses, lower-cased. */
  lookup(addresses: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, DirectoryMatch>>;
}

/** A member of an LMS course as NRPS 2.0 gives it. */
export interface LtiMember {
  readonly lmsUserId: string;
  readonly email?: string;
  readonly name?: string;
  /** Role URIs as sent (full or short form). */
  readonly roles: readonly string[];
  /** NRPS `status`; absent means Active. */
  readonly status: 'Active' | 'Inactive' | 'Deleted';
}

/** Reads a course's membership through NRPS (token from the platform, every page followed). */
export interface MembershipSource {
  members(registration: LtiRegistration, membershipsUrl: string, signal?: AbortSignal): Promise<readonly LtiMember[]>;
}

/**
 * How the tool reaches a platform's URLs (JWKS, token endpoint, NRPS): the SSRF guard in a
 * deployment (https only, no private addresses); loopback allowed in the embedded default.
 */
export type PlatformFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * A browser session opened by a successful launch (kept server-side; the cookie holds only its id).
 * Short-lived; every state-changing page action must carry `csrf`.
 */
export interface LtiSession {
  /** Random, URL-safe; the value of the HttpOnly session cookie. */
  readonly id: string;
  readonly tenant: string;
  readonly registrationId: string;
  readonly deploymentId: string;
  readonly contextId?: string;
  readonly contextTitle?: string;
  /** The LMS's user id (`sub`). */
  readonly lmsUserId: string;
  readonly name?: string;
  readonly email?: string;
  /** Instructors, teaching assistants and content developers of the context are `instructor`. */
  readonly role: 'learner' | 'instructor';
  /** The directory object id the launch's email resolved to; absent when it did not resolve. */
  readonly userId?: string;
  /** Why `userId` is absent: no email in the launch, no or several directory users, or the directory did not answer. */
  readonly userUnresolved?: 'no-email' | 'not-in-directory' | 'ambiguous' | 'directory-unavailable';
  /** The lab the launch reached (resource link custom parameter or the context's bound lab). */
  readonly lab?: string;
  /** NRPS `context_memberships_url` of the launch, when the platform offers the service. */
  readonly membershipsUrl?: string;
  /** Random, compared with the form field `csrf` of every POST. */
  readonly csrf: string;
  /** epoch ms */
  readonly expiresAt: number;
  /** Set for an LtiDeepLinkingRequest: where and how to answer it. */
  readonly deepLinking?: {
    readonly returnUrl: string;
    readonly data?: string;
    readonly acceptMultiple?: boolean;
  };
}

/** Redis (expiring keys) in a deployment; memory in the embedded default. */
export interface LtiSessionStore {
  put(session: LtiSession): Promise<void>;
  /** Undefined when unknown or expired. */
  get(id: string): Promise<LtiSession | undefined>;
  delete(id: string): Promise<void>;
}

/** Starts the `lti.roster-sync` operation of a bound lab (NRPS → directory → roster sync). */
export interface LtiRosterSync {
  start(tenant: string, lab: string, trigger: 'schedule' | 'launch' | 'manual', by: string): Promise<{ readonly operationId: string }>;
}
