import { createHash } from 'node:crypto';
import { PreconditionFailedError } from '../../domain/shared/errors.js';
import type { Precondition } from '../../domain/shared/precondition.js';

/** The ETag of a resource: its opaque version, quoted. */
export function etagOf(version: string): string {
  return `"${version}"`;
}

/**
 * The version of a representation the store keeps no version of (members, images, snapshots,
 * access grants, webhooks): a digest of its JSON, so any change to what a client sees is a new
 * strong ETag (RFC 9110 §8.8.1) and an unchanged one keeps it.
 */
export function contentVersion(representation: unknown): string {
  return createHash('sha256').update(JSON.stringify(representation)).digest('base64url').slice(0, 27);
}

const ENTITY_TAG = /^\s*(W\/)?"([^"]*)"\s*$/;

/**
 * The version an `If-Match` names; `*` or no header asks for no check. RFC 9110 §13.1.1 compares
 * If-Match strongly: a weak tag (`W/"v"`) never matches, so a list of only weak tags yields a
 * version no resource has (the write is then refused as stale, 412 VERSION_MISMATCH, after the
 * resource was found and access checked). Of a list, the one strong tag is taken; several strong
 * tags cannot be checked against the one version a write expects, and are refused as malformed.
 */
export function ifMatchVersion(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const tags = header.split(',').map((t) => ENTITY_TAG.exec(t));
  if (tags.some((t) => t === null)) throw new PreconditionFailedError('BAD_IF_MATCH', 'If-Match must be an ETag returned by this API.');
  const strong = tags.filter((t) => t?.[1] === undefined).map((t) => t?.[2] ?? '');
  if (strong.length > 1) throw new PreconditionFailedError('BAD_IF_MATCH', 'If-Match must name one ETag (or *).');
  // Versions hold no quote, so the weak tag's own text equals none of them.
  return strong[0] ?? header.trim();
}

/**
 * The precondition an `If-Match` puts on a write, for the use case to check once it has found the
 * resource (`undefined` without the header). `*` holds for any current resource; a tag holds when
 * it is the current version (RFC 9110 §13.1.1); neither holds when there is no resource yet.
 */
export function ifMatchPrecondition<T>(
  header: string | undefined,
  versionOf: (current: T) => string,
  what: string,
): Precondition<T | undefined> | undefined {
  if (header === undefined) return undefined;
  const expected = ifMatchVersion(header);
  return (current) => {
    if (current === undefined) throw new PreconditionFailedError('VERSION_MISMATCH', `${what} does not exist, so If-Match cannot hold.`);
    if (expected !== undefined) requireIfMatch(header, versionOf(current), what);
  };
}

/**
 * Refuses a write whose `If-Match` names another version than the resource's `current` one (412
 * VERSION_MISMATCH). For resources whose store takes no expected version, the check is made on the
 * version just read, right before the write: it catches a client's stale read, not a write landing
 * in between (the stores with versions check atomically: tenants, labs, VMs, LTI registrations).
 */
export function requireIfMatch(header: string | undefined, current: string, what: string): void {
  const expected = ifMatchVersion(header);
  if (expected !== undefined && expected !== current) {
    throw new PreconditionFailedError('VERSION_MISMATCH', `${what} changed since you read it; read it again and retry.`, {
      details: { currentVersion: current },
    });
  }
}
