import type { LabRecord, LabSpec, LabStoredStatus } from './lab.js';

/** What happened to a lab, as it reached the cache. */
export interface LabEvent {
  readonly type: 'changed' | 'deleted';
  readonly tenant: string;
  readonly name: string;
  /** The lab after the change; the last known state when deleted. */
  readonly lab: LabRecord;
}

/**
 * Where labs live: `labs.labplane.io/v1alpha1` objects (kind `Lab`) in the tenant's namespace, so
 * they survive restarts of the API and of Redis and can be written by GitOps too.
 *
 * Invariants:
 * - reads (`get`, `list`) come from a watch-backed cache once synced; a write answered by the
 *   server is visible to the next read;
 * - `create` of an existing name throws ConflictError `LAB_EXISTS`;
 * - `update` replaces the spec; with `expectedVersion`, a stale version throws
 *   PreconditionFailedError `VERSION_MISMATCH`; without it, resourceVersion conflicts are retried;
 * - `updateStatus` is a read-modify-write of the status subresource retried on conflicts; `mutate`
 *   returns undefined to leave it as it is;
 * - a missing lab is NotFoundError `LAB_NOT_FOUND` for `update`/`updateStatus`; `delete` of a
 *   missing lab resolves false;
 * - upstream outages surface as UpstreamUnavailableError, refusals as UpstreamRejectedError.
 */
export interface LabRepository {
  /** Labs of one tenant sorted by name, or of every tenant (sorted by tenant, then name). */
  list(tenant?: string): Promise<readonly LabRecord[]>;
  get(tenant: string, name: string): Promise<LabRecord | undefined>;
  create(spec: LabSpec): Promise<LabRecord>;
  update(tenant: string, name: string, spec: LabSpec, expectedVersion?: string): Promise<LabRecord>;
  updateStatus(tenant: string, name: string, mutate: (current: LabStoredStatus) => LabStoredStatus | undefined): Promise<LabRecord>;
  delete(tenant: string, name: string): Promise<boolean>;
  /** Delivers changes as they reach the cache; returns the unsubscribe function. Listeners must not throw. */
  watch(listener: (event: LabEvent) => void): () => void;
}
