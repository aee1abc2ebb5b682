/** JSON value as it travels over the Kubernetes API. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (map of JSON values). */
export type JsonObject = { [key: string]: JsonValue };

/** Owner reference, used for garbage collection of dependents. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The subset of `metadata` the emulator reads or maintains; everything else is preserved as-is. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  /** Global, monotonically increasing integer rendered as a string. */
  resourceVersion?: string;
  /** Bumped when anything outside `metadata` and `status` changes (resources with generation only). */
  generation?: number;
  /** RFC 3339, second precision, UTC. */
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  [key: string]: unknown;
}

/** Any Kubernetes object as stored by the emulator. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** One entry of `details.causes` in a `v1 Status`. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** The `v1 Status` object the API server answers errors (and some deletes) with. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** Watch event type as sent on the wire. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * A change committed to the store. `object` is the state after the change (for DELETED: the last
 * state, with the deletion's resourceVersion); `oldObject` is the state before (MODIFIED/DELETED).
 * Objects held by events are never mutated.
 */
export interface StoreEvent {
  type: WatchEventType;
  /** Resource key, e.g. `secrets` or `virtualmachines.kubevirt.io`. */
  resource: string;
  object: KubeObject;
  oldObject?: KubeObject;
  /** Numeric resourceVersion of the change. */
  rv: number;
}

/** True when a value is a plain JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep copy of JSON data. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
