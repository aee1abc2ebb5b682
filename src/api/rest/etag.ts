import { PreconditionFailedError } from '../../domain/shared/errors.js';

/** The ETag of a resource: its opaque version, quoted. */
export function etagOf(version: string): string {
  return `"${version}"`;
}

/** The version an `If-Match` names (`"v"` or `W/"v"`); `*` or no header asks for no check. */
export function ifMatchVersion(header: string | undefined): string | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const m = /^(?:W\/)?"([^"]*)"$/.exec(header.trim());
  if (m?.[1] === undefined) throw new PreconditionFailedError('BAD_IF_MATCH', 'If-Match must be an ETag returned by this API.');
  return m[1];
}
