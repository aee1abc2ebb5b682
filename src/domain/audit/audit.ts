import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Page, PageRequest } from '../shared/page.js';

/**
 * One mutation as it happened: who (and for whom), what, in which tenant, with what result, and
 * the request id that ties it to the logs. Never holds request bodies or credentials.
 */
export interface AuditEvent {
  /** Assigned by the log when stored; sortable by time. */
  readonly id: string;
  /** ISO 8601. */
  readonly at: string;
  readonly actor: { readonly id: string; readonly kind: 'user' | 'service'; readonly name: string };
  readonly onBehalfOf?: string;
  /** The contract's operationId (`createTenant`) or `graphql.<mutation field>`. */
  readonly action: string;
  readonly method: string;
  /** Path without query string. */
  readonly path: string;
  readonly tenant?: string;
  /** What was acted on, e.g. `{ type: 'vm', id: 'vm-7' }`. */
  readonly target?: { readonly type: string; readonly id: string };
  readonly result: { readonly status: number; readonly code?: string };
  readonly requestId: string;
  /** Why the platform acted on its own (an auto-shutdown's `AutoShutdown:Idle`, a quota's `UsageQuota:Exhausted`). */
  readonly reason?: string;
  /** A console session (action `consoleSession`): which console, when, how long and the bytes each way. */
  readonly console?: ConsoleSessionRecord;
}

/** What the audit keeps of one console session. */
export interface ConsoleSessionRecord {
  readonly type: 'vnc' | 'serial';
  /** ISO 8601. */
  readonly startedAt: string;
  readonly endedAt: string;
  readonly durationMs: number;
  /** Bytes the browser sent to the VM (keys, pointer, paste) and the VM sent to the browser. */
  readonly bytesToVm: number;
  readonly bytesFromVm: number;
  /** Who ended it: `client`, `vm`, `idle-timeout`, `max-session`, `server-shutdown` or `error`. */
  readonly closedBy: string;
}

export type NewAuditEvent = Omit<AuditEvent, 'id'>;

export interface AuditFilter {
  readonly tenant?: string;
  readonly actor?: string;
}

/**
 * Where audit events are kept (queryable, with retention). `append` never throws for a full or
 * slow store in a way that loses the API's answer: callers log the event too and swallow errors.
 * `list` is newest first; cursors are opaque.
 */
export interface AuditLog {
  append(event: NewAuditEvent): Promise<void>;
  list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>>;
}

/** Platform admins read everything; tenant owners read their tenant's events (tenant filter required). */
export function createAuditService(deps: { log: AuditLog }) {
  return {
    async list(p: Principal, filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
      authorize(p, 'audit.read', filter.tenant === undefined ? {} : { tenant: filter.tenant });
      return deps.log.list(filter, page);
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
