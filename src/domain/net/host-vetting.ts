import { isDomainError, UpstreamUnavailableError } from '../shared/errors.js';
import type { HostResolver } from './host-resolver.js';
import { endsInNumber, formatIp, parseIpLiteral, parseIpv4Any, parseIpv4Canonical, parseIpv6, type IpBytes } from './ip-address.js';
import { classifyAddress } from './ip-ranges.js';
import { urlNotAllowed } from './url-refusal.js';

/** A host that passed the guard, with the addresses the caller should connect to (pin). */
export interface VettedHost {
  /** Canonical host as the WHATWG URL parser writes it: lower-case name, dotted quad, `[v6]`. */
  readonly host: string;
  readonly addresses: readonly string[];
}

/** Names that reach the cluster, the node or the cloud platform instead of the internet. */
const INTERNAL_NAMES: ReadonlySet<string> = new Set([
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'metadata',
  'metadata.google.internal',
  'instance-data',
]);

/** Suffixes (matched on whole labels) that never belong to a public host. */
const INTERNAL_SUFFIXES: readonly string[] = [
  'localhost',
  'local',
  'localdomain',
  'internal',
  'intranet',
  'private',
  'corp',
  'home',
  'lan',
  'home.arpa',
  'arpa',
  'svc',
  'cluster.local',
  'default',
  'test',
  'invalid',
  'example',
  'onion',
];

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function hasSuffix(name: string, suffix: string): boolean {
  return name === suffix || name.endsWith(`.${suffix}`);
}

function refuseAddress(bytes: IpBytes, written: string): void {
  const hit = classifyAddress(bytes);
  if (hit === undefined) return;
  const shown = formatIp(bytes);
  const as = shown === written ? `'${written}'` : `'${written}' (${shown})`;
  throw urlNotAllowed(`${as} is a ${hit.category} address (${hit.range})`);
}

function vetIpv6Literal(raw: string): VettedHost {
  const inner = raw.slice(1, -1);
  if (!raw.endsWith(']')) throw urlNotAllowed('malformed IPv6 literal');
  if (inner.includes('%')) throw urlNotAllowed('IPv6 zone identifiers are not accepted');
  const bytes = parseIpv6(inner);
  if (bytes === undefined) throw urlNotAllowed(`malformed IPv6 literal '${raw}'`);
  refuseAddress(bytes, inner.toLowerCase());
  const text = formatIp(bytes);
  return { host: `[${text}]`, addresses: [text] };
}

function vetNumericHost(host: string, trailingDot: boolean): VettedHost {
  const canonical = parseIpv4Canonical(host);
  if (canonical !== undefined) {
    refuseAddress(canonical, host);
    if (trailingDot) throw urlNotAllowed('a trailing dot after an IP address');
    return { host, addresses: [host] };
  }
  const decoded = parseIpv4Any(host);
  if (decoded === undefined) throw urlNotAllowed(`'${host}' is neither a host name nor an IPv4 address`);
  refuseAddress(decoded, host);
  throw urlNotAllowed(`'${host}' is a non-canonical IPv4 encoding of ${formatIp(decoded)}; write it as a dotted quad`);
}

/** Syntax and name-based checks of a host name (no resolution). Returns the name in lower case. */
function vetName(host: string, extraSuffixes: readonly string[]): string {
  if (host.length > 253) throw urlNotAllowed('host name too long');
  const labels = host.split('.');
  if (!labels.every((l) => LABEL.test(l))) throw urlNotAllowed(`'${host}' is not a valid host name`);
  if (INTERNAL_NAMES.has(host)) throw urlNotAllowed(`'${host}' is a cluster-internal or local name`);
  const suffix = [...INTERNAL_SUFFIXES, ...extraSuffixes.map((s) => s.toLowerCase().replace(/^\.|\.$/g, ''))].find(
    (s) => s !== '' && hasSuffix(host, s),
  );
  if (suffix !== undefined) throw urlNotAllowed(`'${host}' is a cluster-internal or local name (*.${suffix})`);
  if (labels.length < 2) throw urlNotAllowed(`'${host}' is a single-label name (resolved inside the cluster)`);
  return host;
}

async function resolveAndVet(host: string, resolver: HostResolver): Promise<readonly string[]> {
  let answers: readonly string[];
  try {
    answers = await resolver.resolve(host);
  } catch (err) {
    if (isDomainError(err)) throw err;
    throw new UpstreamUnavailableError('DNS_UNAVAILABLE', `Could not resolve '${host}' right now.`, { cause: err });
  }
  if (answers.length === 0) throw urlNotAllowed(`'${host}' does not resolve to any address`);
  const addresses: string[] = [];
  for (const a of answers) {
    const bytes = parseIpLiteral(a);
    if (bytes === undefined) throw urlNotAllowed(`'${host}' resolves to an unreadable address`);
    const hit = classifyAddress(bytes);
    if (hit !== undefined) {
      throw urlNotAllowed(`'${host}' resolves to ${formatIp(bytes)}, a ${hit.category} address (${hit.range})`);
    }
    const text = formatIp(bytes);
    if (!addresses.includes(text)) addresses.push(text);
  }
  return addresses;
}

/** Result of the checks that need no DNS: an IP literal (already vetted) or a name to resolve. */
export type InspectedHost =
  | { readonly kind: 'address'; readonly host: string; readonly addresses: readonly string[] }
  | { readonly kind: 'name'; readonly host: string };

/**
 * Checks a host exactly as written in the URL, before any normalisation, so that encodings other
 * parsers read differently are caught: IP literals are classified, non-canonical IPv4 forms
 * (decimal, octal, hex, short) refused, names checked for syntax and cluster-internal patterns.
 */
export function inspectRawHost(rawHost: string, extraSuffixes: readonly string[] = []): InspectedHost {
  if (rawHost.startsWith('[')) return { kind: 'address', ...vetIpv6Literal(rawHost) };
  if (rawHost.includes('%')) throw urlNotAllowed('percent-encoding in the host is not accepted');
  if (/[^\x21-\x7e]/.test(rawHost)) throw urlNotAllowed('non-ASCII host; use its punycode (xn--) form');
  if (rawHost.includes(':')) throw urlNotAllowed('IPv6 literals must be in brackets');
  const lower = rawHost.toLowerCase();
  const trailingDot = lower.endsWith('.');
  const host = trailingDot ? lower.slice(0, -1) : lower;
  if (host === '') throw urlNotAllowed('the URL has no host');
  if (endsInNumber(host)) return { kind: 'address', ...vetNumericHost(host, trailingDot) };
  const name = vetName(host, extraSuffixes);
  if (trailingDot) throw urlNotAllowed('a trailing dot in the host name');
  return { kind: 'name', host: name };
}

/**
 * Completes `inspectRawHost`: a name is resolved and refused when ANY of its addresses is
 * forbidden (DNS rebinding with mixed answers) or when it has none.
 */
export async function completeHost(inspected: InspectedHost, resolver: HostResolver): Promise<VettedHost> {
  if (inspected.kind === 'address') return { host: inspected.host, addresses: inspected.addresses };
  return { host: inspected.host, addresses: await resolveAndVet(inspected.host, resolver) };
}

/** `inspectRawHost` then `completeHost`. */
export async function vetRawHost(rawHost: string, resolver: HostResolver, extraSuffixes: readonly string[] = []): Promise<VettedHost> {
  return completeHost(inspectRawHost(rawHost, extraSuffixes), resolver);
}
