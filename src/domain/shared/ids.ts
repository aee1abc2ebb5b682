import { createHash } from 'node:crypto';

/** RFC 1123 DNS label: lower-case alphanumerics and '-', starting and ending alphanumeric. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Namespace of every UUIDv5 the platform derives (fixed forever: changing it renames everything). */
export const LABPLANE_UUID_NAMESPACE = '6f1d3b2a-7c4e-5a19-9b0d-3e2f4c5a6b7d';

/** RFC 9562 UUIDv5 (SHA-1, name-based): the same inputs always give the same id. */
export function uuidV5(name: string, namespace: string = LABPLANE_UUID_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new TypeError(`invalid UUID namespace: ${namespace}`);
  const hash = createHash('sha1').update(ns).update(name, 'utf8').digest();
  const b = Buffer.from(hash.subarray(0, 16));
  b[6] = ((b[6] as number) & 0x0f) | 0x50;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Ports for time and ids, injected so tests are deterministic. */
export interface Clock {
  now(): Date;
}
export interface IdGenerator {
  /** A new random id (UUIDv4 unless a test says otherwise). */
  next(): string;
}

export const systemClock: Clock = { now: () => new Date() };
