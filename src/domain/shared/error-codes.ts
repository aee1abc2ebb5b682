/**
 * The catalogue of every error code the platform answers with: REST problem+json `code`, GraphQL
 * `extensions.code`, an operation's `error.code` and a lab student's failure `code`. It is the one
 * place that says what a code means and which HTTP status it answers with; the OpenAPI contract
 * (`x-error-codes` of the Problem schema) and docs/errors.md are generated from it
 * (`npm run errors:generate`) and a test fails when they drift.
 *
 * Error classes take an `ErrorCode`, so a code missing here is a type error at the throw; each
 * class also narrows to the codes whose statuses include its own (a 409 `ConflictError` cannot carry
 * a code documented as 503).
 */

/** When retrying helps. Absent: retrying the same request will not succeed until something changes. */
export type RetryAdvice =
  /** The same request may succeed later (honour `Retry-After` where given). */
  | 'later'
  /** Read the resource again and retry with what it holds now. */
  | 'reread';

export interface ErrorCodeInfo {
  /** The HTTP status the code answers with, and an operation's `error.status` shows. */
  readonly status: number;
  /** Other statuses the same code answers with in some places (say where in `meaning`). */
  readonly alsoStatus?: readonly number[];
  /** One sentence: what happened. */
  readonly meaning: string;
  readonly retry?: RetryAdvice;
}

export const ERROR_CODES = {
  // The request itself
  VALIDATION_FAILED: { status: 400, meaning: 'The request does not match the contract or the rules; `errors[]` names each offending field.' },
  BAD_REQUEST: { status: 400, meaning: 'The request could not be handled as sent (with another 4xx status when the HTTP layer chose one).' },
  EMPTY_BODY: { status: 400, meaning: 'A JSON body is required and none was sent.' },
  INVALID_JSON: { status: 400, meaning: 'The body is not valid JSON.' },
  INVALID_CONTENT_LENGTH: { status: 400, meaning: 'The Content-Length header does not match the body.' },
  BAD_CONTENT_TYPE: { status: 400, meaning: 'The Content-Type header is malformed.' },
  BAD_URL: { status: 400, meaning: 'The URL is malformed.' },
  TOKEN_TOO_LARGE: {
    status: 400,
    meaning: 'The access token is too large to keep in a browser cookie; send it in the Authorization header instead.',
  },
  LENGTH_REQUIRED: { status: 411, meaning: 'The request must state its Content-Length (anonymous GraphQL requests).' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The request body is larger than accepted here.' },
  URI_TOO_LONG: { status: 414, meaning: 'A path parameter is too long.' },
  WEBSOCKET_REQUIRED: { status: 426, meaning: 'This address only answers a WebSocket upgrade (the VM console).' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, meaning: 'The body is sent with a content type this operation does not accept.' },
  REQUEST_TIMEOUT: { status: 408, meaning: 'The request was not received in time.', retry: 'later' },
  HEADERS_TOO_LARGE: { status: 431, meaning: 'The request line and headers are larger than the server accepts (16 KiB).' },
  RATE_LIMITED: { status: 429, meaning: 'The caller sent more requests per minute than allowed.', retry: 'later' },
  NOT_FOUND: { status: 404, meaning: 'Nothing is at this address.' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'No route matches this method and path.' },
  BAD_IF_MATCH: { status: 412, meaning: 'If-Match is not an ETag this API returned.' },
  VERSION_MISMATCH: { status: 412, meaning: 'The resource changed since the version given in If-Match (or expectedVersion).', retry: 'reread' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, meaning: 'This Idempotency-Key was already used with a different request body.' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, meaning: 'The first request with this Idempotency-Key is still being handled.', retry: 'later' },

  // Who is asking
  UNAUTHENTICATED: { status: 401, meaning: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, meaning: 'The caller is not allowed to do this.' },
  CROSS_ORIGIN_REFUSED: { status: 403, meaning: 'A state-changing /admin request did not come from a page of this site.' },
  DASHBOARD_READ_ONLY: { status: 403, meaning: 'The queue dashboard is read-only on this deployment.' },
  DASHBOARD_UNAVAILABLE: { status: 404, meaning: 'The queue dashboard needs Redis; jobs run in process here.' },
  AUTH_KEYS_UNAVAILABLE: { status: 503, meaning: 'The token signing keys cannot be loaded right now.', retry: 'later' },

  // GraphQL documents
  GRAPHQL_DOCUMENT_TOO_LARGE: { status: 400, meaning: 'The GraphQL document has more characters or tokens than the caller may send.' },
  GRAPHQL_PARSE_FAILED: { status: 400, meaning: 'The GraphQL document cannot be parsed.' },
  GRAPHQL_VALIDATION_FAILED: { status: 400, meaning: 'The GraphQL document does not validate against the schema.' },
  GRAPHQL_TOO_MANY_ALIASES: { status: 400, meaning: 'The GraphQL document uses more aliases than allowed.' },
  GRAPHQL_TOO_COSTLY: { status: 400, meaning: 'The GraphQL query is estimated to cost more than allowed; ask for less or page.' },
  GRAPHQL_SUBSCRIPTION_OVER_HTTP: { status: 400, meaning: 'Subscriptions run over a WebSocket on /graphql, not over HTTP.' },

  // Something named does not exist (tenant members see 404 for what they may not know about)
  TENANT_NOT_FOUND: { status: 404, meaning: 'The tenant does not exist (or is not visible to the caller).' },
  MEMBER_NOT_FOUND: { status: 404, meaning: 'The principal is not a member of the tenant.' },
  VM_NOT_FOUND: { status: 404, meaning: 'The VM does not exist in the tenant.' },
  IMAGE_NOT_FOUND: { status: 404, alsoStatus: [422], meaning: 'The image does not exist (422 when a VM or lab template refers to it).' },
  LAB_NOT_FOUND: { status: 404, meaning: 'The lab does not exist in the tenant.' },
  STUDENT_NOT_FOUND: { status: 404, meaning: 'The student is not on the lab roster.' },
  SNAPSHOT_NOT_FOUND: { status: 404, meaning: 'The VM has no snapshot of that name.' },
  NODE_NOT_FOUND: { status: 404, meaning: 'The cluster node does not exist.' },
  CONSOLE_TICKET_NOT_FOUND: {
    status: 404,
    meaning: 'The console ticket is unknown, expired, already used or was issued to someone else; ask for a new one.',
  },
  OPERATION_NOT_FOUND: { status: 404, meaning: 'The operation does not exist (or is not visible to the caller).' },
  WEBHOOK_NOT_FOUND: { status: 404, meaning: 'The webhook does not exist in the tenant.' },
  DELIVERY_NOT_FOUND: { status: 404, meaning: 'The webhook has no such delivery (records are kept 7 days, the last 100 per webhook).' },
  LTI_REGISTRATION_NOT_FOUND: { status: 404, meaning: 'The LTI platform registration does not exist in the tenant.' },
  ACCESS_GRANT_NOT_FOUND: { status: 404, meaning: 'The principal holds no access role on the VM.' },
  ARC_MACHINE_NOT_FOUND: { status: 404, meaning: 'The Azure Arc machine of the VM does not exist.' },
  EXTENSION_NOT_FOUND: { status: 404, meaning: 'The VM extension does not exist on the Azure Arc machine.' },
  EXTENSION_OPERATION_NOT_FOUND: { status: 404, meaning: 'The Azure long-running extension operation is no longer known.' },
  ROLE_ASSIGNMENT_NOT_FOUND: { status: 404, meaning: 'The Azure role assignment does not exist.' },
  LEASE_NOT_FOUND: { status: 404, meaning: 'The leader-election Lease does not exist.' },
  OBJECT_NOT_FOUND: { status: 404, meaning: 'A Kubernetes object the request needs does not exist.' },
  AZURE_RESOURCE_NOT_FOUND: { status: 404, meaning: 'An Azure resource the request needs does not exist.' },

  // Conflicts with the current state
  ALREADY_EXISTS: { status: 409, meaning: 'Kubernetes already holds an object of that name.' },
  VERSION_CONFLICT: { status: 409, meaning: 'The resource kept changing while it was being written.', retry: 'reread' },
  TENANT_EXISTS: { status: 409, meaning: 'A tenant with this id already exists.' },
  TENANT_TERMINATING: {
    status: 409,
    meaning: 'The tenant is being deleted: nothing new can be made in it, and a tenant of that id can be created again once it is gone.',
    retry: 'later',
  },
  TENANT_HAS_VMS: { status: 409, meaning: 'The tenant still has VMs; delete them or pass force=true.' },
  NAMESPACE_TAKEN: { status: 409, meaning: 'A namespace of that name exists and does not belong to the platform.' },
  QUOTA_BELOW_USAGE: { status: 409, meaning: 'The new quota is below what the tenant already uses.' },
  LAST_OWNER: { status: 409, meaning: 'A tenant keeps at least one owner.' },
  QUOTA_EXCEEDED: { status: 409, meaning: 'The request does not fit in what the tenant quota leaves; `details` gives the figures.' },
  MIGRATION_NEEDS_HEADROOM: { status: 409, meaning: 'Live migration needs quota room for a second copy of the VM while it moves.' },
  NOT_LIVE_MIGRATABLE: { status: 409, meaning: 'The VM cannot be live-migrated (its disks are not ReadWriteMany).' },
  USAGE_QUOTA_EXHAUSTED: {
    status: 409,
    meaning:
      'The student has used the hours of their lab quota (class hours do not count); `details` gives usedHours, quotaHours, addedHours and leftHours. Instructors can add hours or start the VM themselves.',
  },
  ACTION_NOT_ALLOWED: { status: 409, meaning: 'The action is not possible in the VM’s current state; `details.state` says which.' },
  VM_ACTION_REFUSED: { status: 409, meaning: 'KubeVirt refused the VM action.' },
  VM_EXISTS: { status: 409, meaning: 'A VM of that name already exists in the tenant.' },
  VM_GONE: { status: 409, alsoStatus: [502], meaning: 'The VM was deleted while it was being changed or provisioned.' },
  SNAPSHOT_EXISTS: { status: 409, meaning: 'A snapshot of that name already exists in the tenant (snapshot names are unique per tenant).' },
  SNAPSHOT_LIMIT_REACHED: {
    status: 409,
    meaning: 'The VM (or the tenant) has as many snapshots as allowed; `details.scope` says which and `details.limit` the figure. Delete one first.',
  },
  SNAPSHOT_NOT_READY: {
    status: 409,
    meaning: 'The snapshot is not ready to use (still in progress or failed); restore from a ready one.',
    retry: 'later',
  },
  SNAPSHOTS_NOT_SUPPORTED: {
    status: 409,
    meaning:
      'The cluster cannot take VM snapshots: the snapshot.kubevirt.io CRDs are not served or KubeVirt’s Snapshot feature gate is off; `detail` says what to enable.',
  },
  CLONES_NOT_SUPPORTED: {
    status: 409,
    meaning:
      'The cluster cannot clone VMs: the clone.kubevirt.io CRD (virtualmachineclones) is not served or KubeVirt’s Snapshot feature gate is off; `detail` says what to enable.',
  },
  NODE_EVACUATION_RUNNING: { status: 409, meaning: 'The node is already being evacuated; `details.operationId` names the operation.' },
  IMAGE_EXISTS: { status: 409, meaning: 'An image of that name already exists.' },
  IMAGE_IN_USE: { status: 409, meaning: 'VMs still use the image; delete them first.' },
  IMAGE_NOT_READY: { status: 409, meaning: 'The image is still importing; use it once it is Ready.', retry: 'later' },
  IMAGE_DELETED: { status: 409, meaning: 'The image was deleted while it was being imported.' },
  ARC_NOT_ENABLED: { status: 409, meaning: 'The VM was created without Azure Arc, so it has no Azure identity.' },
  ARC_ONBOARDING_NOT_CONFIGURED: { status: 409, meaning: 'Azure Arc onboarding is not configured on this platform.' },
  TEMPLATE_VM_EXISTS: { status: 409, meaning: 'The lab already has a template VM; publish or delete it first.' },
  TEMPLATE_VM_NOT_FOUND: { status: 404, meaning: 'The lab has no template VM; create one first.' },
  IMAGE_PUBLISH_NOT_AVAILABLE: {
    status: 409,
    meaning: "Publishing a VM as an image is not available on this platform, so a lab's template VM cannot be published yet.",
  },
  IDENTITY_READY: { status: 409, meaning: 'The VM’s Azure identity is ready; there is nothing to retry.' },
  LAB_VM: { status: 409, meaning: 'The VM belongs to a lab; act on it through the lab.' },
  LAB_EXISTS: { status: 409, meaning: 'A lab of that name already exists in the tenant.' },
  LAB_DELETING: { status: 409, meaning: 'The lab is being deleted.' },
  LAB_BOUND_ELSEWHERE: { status: 409, meaning: 'The lab is bound to another LMS course; confirm re-binding to move it.' },
  STUDENT_NOT_FAILED: { status: 409, meaning: 'Only a failed or pending student can be retried.' },
  LAB_COST_CONTROLS_UNSET: {
    status: 409,
    meaning: 'The lab has no cost controls (it was made before they existed); set them with a PATCH of `costControls` first.',
  },
  LAB_NOT_LTI_BOUND: { status: 409, meaning: 'The lab is not bound to an LMS course (Deep Linking), so it has no LMS roster to sync.' },
  LTI_NO_MEMBERSHIP_SERVICE: {
    status: 409,
    meaning: 'The LMS did not offer its Names and Role Provisioning service for the course the lab is bound to, so its roster cannot be read.',
  },
  LTI_EMPTY_MEMBERSHIP: {
    status: 409,
    meaning:
      'The LMS answered an empty course membership for a lab that has students; they are kept (change the roster by hand if the course is really empty).',
  },
  LTI_NOT_CONFIGURED: {
    status: 409,
    meaning:
      'The directory or the LMS membership service is not configured on this platform, so people cannot be given by email nor rosters synced from an LMS.',
  },
  LTI_REGISTRATION_GONE: { status: 409, meaning: 'The LMS registration the lab is bound through no longer exists; bind the lab again.' },
  CONSOLE_LIMIT_REACHED: {
    status: 409,
    meaning: 'The VM (or the tenant) has as many open consoles as allowed; `details.scope` says which and `details.limit` the figure.',
    retry: 'later',
  },
  WEBHOOK_EXISTS: { status: 409, meaning: 'A webhook with this id already exists.' },
  WEBHOOK_LIMIT_REACHED: { status: 409, meaning: 'The tenant has as many webhooks as allowed; delete one first.' },
  WEBHOOK_DISABLED: { status: 409, meaning: 'The webhook is disabled; re-enable it (PATCH `status: active`) first.' },
  DELIVERY_IN_PROGRESS: { status: 409, meaning: 'The delivery is still being tried; redeliver it once it succeeded or failed.', retry: 'later' },
  LTI_REGISTRATION_EXISTS: {
    status: 409,
    meaning: 'The platform issuer and client id are already registered (by this or another tenant); a launch must name one tenant.',
  },
  LTI_REGISTRATION_LIMIT_REACHED: { status: 409, meaning: 'The tenant has as many LTI platform registrations as allowed; delete one first.' },
  OPERATION_EXISTS: { status: 409, meaning: 'An operation with this id already exists.' },
  OPERATION_FINISHED: { status: 409, meaning: 'The operation has already finished.' },
  AZURE_CONFLICT: { status: 409, meaning: 'Azure refused the change because of a conflict.' },
  AZURE_ROLE_ASSIGNMENT_EXISTS: { status: 409, meaning: 'The Azure role assignment already exists.' },

  // Refused as asked
  URL_NOT_ALLOWED: { status: 422, meaning: 'The outbound URL (image source, webhook target) is refused; `details.reason` names the rule.' },
  ARC_SERVICE_PRINCIPAL_NOT_ALLOWED: { status: 412, meaning: 'Onboarding with a service principal secret is switched off on this platform.' },
  EMAIL_NOT_RESOLVED: {
    status: 422,
    meaning:
      'People given by email must each match exactly one directory user; `errors[]` names each address that did not (not-in-directory or ambiguous).',
  },
  IMAGE_IMPORT_FAILED: { status: 422, meaning: 'The image import failed; `detail` gives the importer’s reason.' },
  ADDED_HOURS_OUT_OF_RANGE: {
    status: 422,
    meaning: 'The hours a student was given would total below 0 or above the largest quota; `details` gives the current total and the bounds.',
  },

  // Failures of long-running work (seen in an operation's `error` or a lab student's `code`)
  VM_FAILED: { status: 422, alsoStatus: [502], meaning: 'The VM went into an error state while it was being provisioned or changed.' },
  VM_ERROR: { status: 422, meaning: 'A lab student’s VM is in an error state (lab student status only).' },
  VM_WAIT_TIMEOUT: { status: 503, alsoStatus: [502], meaning: 'The VM did not reach the awaited state in time.' },
  SNAPSHOT_FAILED: { status: 422, alsoStatus: [502], meaning: 'KubeVirt failed to take the snapshot; `detail` gives its error.' },
  CLONE_FAILED: { status: 422, alsoStatus: [502], meaning: 'KubeVirt failed to clone the VM; `detail` gives its reason.' },
  PUBLISH_FAILED: { status: 422, alsoStatus: [502], meaning: 'CDI failed to copy the VM’s disk into the image; `detail` gives its reason.' },
  RESTORE_FAILED: { status: 422, alsoStatus: [502], meaning: 'KubeVirt failed to restore the VM from its snapshot; `detail` gives its reason.' },
  REIMAGE_FAILED: {
    status: 422,
    alsoStatus: [502],
    meaning: 'The new root disk of a reimaged VM failed to clone from its image; `details.disk` names it.',
  },
  TEMPLATE_PUBLISH_FAILED: {
    status: 422,
    alsoStatus: [502],
    meaning: "Publishing the lab's template VM as an image failed; `details.operationId` names the publish operation.",
  },
  MIGRATION_FAILED: { status: 422, alsoStatus: [502], meaning: 'The live migration failed; `details.migration` names it.' },
  ARC_NOT_CONNECTED: { status: 422, alsoStatus: [502], meaning: 'The VM’s Azure Arc machine did not appear or connect in time.' },
  ARC_EXTENSION_FAILED: { status: 422, alsoStatus: [502], meaning: 'Installing the Azure AD SSH login extension failed.' },
  WAIT_TIMED_OUT: { status: 422, meaning: 'The operation waited too long without progress and was given up.' },
  JOB_LOST: { status: 422, meaning: 'The work was interrupted too many times and was given up.' },
  UNKNOWN_JOB_KIND: { status: 422, meaning: 'No worker handles the operation’s kind.' },
  CANCELED: { status: 422, meaning: 'A child operation of a lab was canceled.' },
  FAILED: { status: 422, meaning: 'A child operation of a lab failed without a recorded error.' },

  // Upstreams: Kubernetes, Azure, Redis, DNS
  KUBERNETES_UNAVAILABLE: { status: 503, meaning: 'The Kubernetes API server is unreachable or failing.', retry: 'later' },
  KUBERNETES_THROTTLED: { status: 503, meaning: 'The Kubernetes API server (or our own write budget) is throttling requests.', retry: 'later' },
  CRD_NOT_INSTALLED: {
    status: 503,
    meaning: 'The cluster does not serve a custom resource the platform needs; `details.crd` names it.',
    retry: 'later',
  },
  CLIENT_BUDGET_EXHAUSTED: { status: 503, meaning: 'Too many upstream calls are queued.', retry: 'later' },
  KUBERNETES_INVALID: { status: 502, meaning: 'Kubernetes found the object invalid.' },
  KUBERNETES_FORBIDDEN: { status: 502, meaning: 'Kubernetes refused the platform’s request (RBAC).' },
  KUBERNETES_UNAUTHORIZED: { status: 502, meaning: 'Kubernetes did not accept the platform’s credentials.' },
  KUBERNETES_REJECTED: { status: 502, meaning: 'Kubernetes rejected the request for another reason.' },
  AZURE_UNREACHABLE: { status: 503, meaning: 'Azure Resource Manager is unreachable.', retry: 'later' },
  AZURE_UNAVAILABLE: { status: 503, meaning: 'Azure Resource Manager failed or did not answer in time.', retry: 'later' },
  AZURE_THROTTLED: { status: 503, meaning: 'Azure Resource Manager (or our own call budget for it) is throttling requests.', retry: 'later' },
  AZURE_CREDENTIAL_UNAVAILABLE: { status: 503, meaning: 'Azure AD could not issue a token right now.', retry: 'later' },
  AZURE_ONBOARDING_TOKEN_TOO_SHORT: { status: 503, meaning: 'The Arc onboarding token expires too soon to be used.', retry: 'later' },
  AZURE_PRINCIPAL_NOT_FOUND: { status: 503, meaning: 'Azure AD does not know the principal yet (replication).', retry: 'later' },
  AZURE_ROLE_ASSIGNMENT_NOT_VISIBLE: { status: 503, meaning: 'The role assignment exists but is not visible yet.', retry: 'later' },
  AZURE_CREDENTIAL_REJECTED: { status: 502, meaning: 'The platform’s Azure identity could not get a token; its configuration is wrong.' },
  AZURE_SCOPE_NOT_FOUND: { status: 502, meaning: 'The configured Azure subscription or resource group does not exist.' },
  AZURE_UNAUTHORIZED: { status: 502, meaning: 'Azure did not accept the platform’s token.' },
  AZURE_FORBIDDEN: { status: 502, meaning: 'Azure refused the platform’s request.' },
  AZURE_REJECTED: { status: 502, meaning: 'Azure rejected the request for another reason.' },
  REDIS_UNAVAILABLE: { status: 503, meaning: 'Redis (jobs, idempotency, rate limits) is unreachable.', retry: 'later' },
  DNS_UNAVAILABLE: { status: 503, meaning: 'A host name could not be resolved right now.', retry: 'later' },

  // Upstreams: LTI platforms (LMS) and the directory (Microsoft Graph)
  LTI_PLATFORM_UNAVAILABLE: {
    status: 503,
    meaning: 'The LMS (its token endpoint or membership service) is unreachable, failing or did not answer in time.',
    retry: 'later',
  },
  LTI_TOKEN_REFUSED: {
    status: 502,
    meaning: 'The LMS token endpoint refused the tool’s client credentials (registration or tool key not accepted).',
  },
  LTI_MEMBERSHIP_REFUSED: { status: 502, meaning: 'The LMS refused to list the course’s members (NRPS not granted or the course is gone).' },
  LTI_PLATFORM_BAD_ANSWER: {
    status: 502,
    meaning: 'The LMS answered with something that is not what LTI specifies (malformed, too large, or a redirect).',
  },
  LTI_MEMBERSHIP_TOO_LARGE: { status: 502, meaning: 'The course has more members (or membership pages) than the tool reads.' },
  DIRECTORY_UNAVAILABLE: { status: 503, meaning: 'The directory (Microsoft Graph) is unreachable, throttling or failing.', retry: 'later' },
  DIRECTORY_REJECTED: { status: 502, meaning: 'The directory (Microsoft Graph) refused the lookup (permissions or credentials).' },

  // Upstreams: the metrics source (Prometheus) of VM usage
  USAGE_METRICS_UNAVAILABLE: {
    status: 503,
    meaning: 'The metrics source (Prometheus) of VM usage is unreachable, failing, or did not answer in time.',
    retry: 'later',
  },
  USAGE_METRICS_REJECTED: {
    status: 502,
    meaning: 'The metrics source (Prometheus) of VM usage refused the query or the platform’s credentials.',
  },
  USAGE_METRICS_BAD_ANSWER: {
    status: 502,
    meaning: 'The metrics source (Prometheus) of VM usage answered with something that is not a Prometheus query result (malformed or too large).',
  },

  // The service itself
  NOT_READY: { status: 503, meaning: 'The service is not ready; `details.checks` says what fails.', retry: 'later' },
  OVERLOADED: { status: 503, meaning: 'The server is under pressure (event loop or memory).', retry: 'later' },
  SERVICE_UNAVAILABLE: { status: 503, meaning: 'The service is overloaded or a dependency is down.', retry: 'later' },
  INTERNAL: { status: 500, meaning: 'Something went wrong on our side; the request id helps us find it.' },
} as const satisfies Readonly<Record<string, ErrorCodeInfo>>;

export type ErrorCode = keyof typeof ERROR_CODES;

type Entry<C extends ErrorCode> = (typeof ERROR_CODES)[C];
type StatusesOf<C extends ErrorCode> = Entry<C>['status'] | (Entry<C> extends { readonly alsoStatus: readonly (infer S)[] } ? S : never);

/** The codes that may answer with `S` (their status or one of their other statuses). */
export type CodeWithStatus<S extends number> = { [C in ErrorCode]: S extends StatusesOf<C> ? C : never }[ErrorCode];

/** Resources whose `<RESOURCE>_NOT_FOUND` code is a 404 in the catalogue (what `NotFoundError` names). */
export type NotFoundResource = { [C in CodeWithStatus<404>]: C extends `${infer R}_NOT_FOUND` ? Lowercase<R> : never }[CodeWithStatus<404>];

/**
 * `resource` when its `<RESOURCE>_NOT_FOUND` is a catalogued 404, else `fallback`: adapters name
 * the resource of a call as a plain string, and an unknown name must not make an unknown code.
 */
export function notFoundResource(resource: string | undefined, fallback: NotFoundResource): NotFoundResource {
  return resource !== undefined && CODES_WITH_404.has(`${resource.toUpperCase()}_NOT_FOUND`) ? (resource as NotFoundResource) : fallback;
}

const CODES_WITH_404: ReadonlySet<string> = new Set(
  Object.entries(ERROR_CODES as Readonly<Record<string, ErrorCodeInfo>>)
    .filter(([, info]) => info.status === 404 || info.alsoStatus?.includes(404) === true)
    .map(([code]) => code),
);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/** The RFC 9457 `type` of a problem with `code`: `urn:labplane:problem:<code in kebab case>`. */
export function problemTypeOf(code: string): string {
  return `urn:labplane:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** The catalogue's status for `code`. */
export function statusOfCode(code: ErrorCode): number {
  return ERROR_CODES[code].status;
}

export function errorCodeInfo(code: ErrorCode): ErrorCodeInfo {
  return ERROR_CODES[code];
}
