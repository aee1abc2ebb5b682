/**
 * A client's condition on the current state of what a write changes (REST `If-Match`): called once
 * the caller is authorized and the resource found (`undefined`: it does not exist yet), before
 * anything is written; it throws PreconditionFailedError when it does not hold. Use cases take one
 * where their store keeps no version to compare atomically.
 */
export type Precondition<T> = (current: T) => void;
