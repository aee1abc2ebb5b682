import { UnprocessableError } from '../shared/errors.js';

/** Stable code of every refusal by the outbound-URL guard (answered as 422). */
export const URL_NOT_ALLOWED = 'URL_NOT_ALLOWED';

/**
 * The refusal the guard throws. `details.reason` is safe to show: it names the rule that failed and
 * the offending host or address, never credentials from the URL.
 */
export function urlNotAllowed(reason: string): UnprocessableError {
  return new UnprocessableError(URL_NOT_ALLOWED, `The URL is not allowed: ${reason}.`, { details: { reason } });
}

/** Host (as written, IPv6 still in brackets) and port of an authority component. */
export interface RawAuthority {
  readonly host: string;
  readonly port: number | undefined;
}

/**
 * Splits `host[:port]` strictly. Userinfo (`user:pass@`, `good.com@evil`) is refused rather than
 * stripped, because parsers disagree on where it ends.
 */
export function splitAuthority(authority: string): RawAuthority {
  if (authority.includes('@')) throw urlNotAllowed('credentials (userinfo) in the URL are not accepted');
  if (authority === '') throw urlNotAllowed('the URL has no host');
  let host: string;
  let rest: string;
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    if (end < 0) throw urlNotAllowed('unterminated IPv6 literal');
    host = authority.slice(0, end + 1);
    rest = authority.slice(end + 1);
  } else {
    const colon = authority.indexOf(':');
    host = colon < 0 ? authority : authority.slice(0, colon);
    rest = colon < 0 ? '' : authority.slice(colon);
  }
  if (rest === '') return { host, port: undefined };
  if (!/^:[0-9]{1,5}$/.test(rest)) throw urlNotAllowed('malformed port');
  const port = Number(rest.slice(1));
  if (port < 1 || port > 65535) throw urlNotAllowed('port out of range');
  return { host, port };
}
