import { DOCKER_HUB, DOCKER_HUB_PULL_HOST, parseDockerReference } from './docker-reference.js';
import type { HostResolver } from './host-resolver.js';
import { completeHost, inspectRawHost, vetRawHost } from './host-vetting.js';
import { endsInNumber } from './ip-address.js';
import { splitAuthority, urlNotAllowed } from './url-refusal.js';

/** Schemes the guard understands. */
export type OutboundScheme = 'https' | 'http' | 'docker' | 's3';

export const OUTBOUND_SCHEMES: readonly OutboundScheme[] = ['https', 'http', 'docker', 's3'];

/** What a caller accepts as an outbound destination (image imports, webhook targets). */
export interface OutboundPolicy {
  /** Schemes accepted here, e.g. all four for image imports, `['https', 'http']` for webhooks. */
  readonly allowedSchemes: readonly OutboundScheme[];
  /**
   * Admin allow-list of hosts (names or IP literals as the WHATWG parser writes them) for which
   * plain `http` is accepted. Their addresses are still vetted: the list relaxes TLS, not SSRF.
   */
  readonly httpAllowedHosts: readonly string[];
  /** Private and internal destinations are never allowed; `true` is not representable on purpose. */
  readonly allowPrivate?: false;
  /** Extra name suffixes to refuse (whole labels), e.g. the cluster's namespace names. */
  readonly blockedHostSuffixes?: readonly string[];
}

export interface OutboundUrlOptions {
  /**
   * Endpoint of an `s3://` URL (`https://minio.example.edu:9000`); an origin only. Defaults to
   * `https://s3.amazonaws.com`. Vetted like an https URL (http only when allow-listed).
   */
  readonly s3Endpoint?: string;
}

/** A destination that passed the guard. */
export interface VettedUrl {
  /**
   * Canonical form to hand to the consumer: the WHATWG-normalised URL for http(s); for docker a
   * fully qualified reference (`docker://docker.io/library/ubuntu:22.04`); for s3 the URL as given.
   */
  readonly url: URL;
  readonly scheme: OutboundScheme;
  /** The host actually contacted: the URL host, the registry, or the S3 endpoint host. */
  readonly host: string;
  readonly port: number;
  /**
   * Every address `host` resolved to, all vetted, deduplicated. Connect to these (pin them) to
   * close the window between this check and the connection (DNS rebinding).
   */
  readonly addresses: readonly string[];
  /** For s3: the vetted endpoint. */
  readonly endpoint?: URL;
}

/** Longest URL accepted; longer input is refused before any parsing. */
export const MAX_OUTBOUND_URL_LENGTH = 4096;

const DEFAULT_S3_ENDPOINT = 'https://s3.amazonaws.com';
const DEFAULT_PORTS: Readonly<Record<OutboundScheme, number>> = { https: 443, http: 80, docker: 443, s3: 443 };
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

interface RawParts {
  readonly scheme: OutboundScheme;
  /** Everything after `scheme://`. */
  readonly rest: string;
}

function splitRaw(rawUrl: unknown, policy: OutboundPolicy): RawParts {
  if (typeof rawUrl !== 'string' || rawUrl === '') throw urlNotAllowed('the URL is empty');
  if (rawUrl.length > MAX_OUTBOUND_URL_LENGTH) throw urlNotAllowed(`the URL is longer than ${MAX_OUTBOUND_URL_LENGTH} characters`);
  for (let i = 0; i < rawUrl.length; i++) {
    const c = rawUrl.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw urlNotAllowed('spaces or control characters in the URL');
  }
  if (rawUrl.includes('\\')) throw urlNotAllowed('backslashes in the URL');
  if (rawUrl.includes('#')) throw urlNotAllowed('a fragment (#) in the URL');
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s.exec(rawUrl);
  if (m === null) throw urlNotAllowed('the URL has no scheme');
  const scheme = (m[1] ?? '').toLowerCase();
  const known = OUTBOUND_SCHEMES.find((s) => s === scheme);
  if (known === undefined || !policy.allowedSchemes.includes(known)) {
    const allowed = policy.allowedSchemes.join(', ');
    throw urlNotAllowed(`scheme '${scheme.slice(0, 20)}' is not allowed here (allowed: ${allowed || 'none'})`);
  }
  const afterColon = m[2] ?? '';
  if (!afterColon.startsWith('//')) throw urlNotAllowed(`the URL must have the form ${known}://host/...`);
  return { scheme: known, rest: afterColon.slice(2) };
}

function authorityOf(rest: string): { authority: string; tail: string } {
  const end = rest.search(/[/?]/);
  return end < 0 ? { authority: rest, tail: '' } : { authority: rest.slice(0, end), tail: rest.slice(end) };
}

function normaliseHostEntry(h: string): string {
  return h.trim().toLowerCase().replace(/\.$/, '');
}

async function vetHttp(rawUrl: string, parts: RawParts, policy: OutboundPolicy, resolver: HostResolver): Promise<VettedUrl> {
  const { authority } = authorityOf(parts.rest);
  const raw = splitAuthority(authority);
  const inspected = inspectRawHost(raw.host, policy.blockedHostSuffixes);
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw urlNotAllowed('not a valid URL');
  }
  if (url.username !== '' || url.password !== '') throw urlNotAllowed('credentials (userinfo) in the URL are not accepted');
  if (parts.scheme === 'http' && !policy.httpAllowedHosts.map(normaliseHostEntry).includes(inspected.host)) {
    throw urlNotAllowed(`plain http is only accepted for allow-listed hosts, not '${inspected.host}'; use https`);
  }
  const vetted = await completeHost(inspected, resolver);
  const port = raw.port ?? DEFAULT_PORTS[parts.scheme];
  const parsedPort = url.port === '' ? DEFAULT_PORTS[parts.scheme] : Number(url.port);
  if (url.hostname !== vetted.host || parsedPort !== port) {
    throw urlNotAllowed('the host is ambiguous (URL parsers disagree on it)');
  }
  return { url, scheme: parts.scheme, host: vetted.host, port, addresses: vetted.addresses };
}

async function vetDocker(parts: RawParts, policy: OutboundPolicy, resolver: HostResolver): Promise<VettedUrl> {
  const ref = parseDockerReference(parts.rest);
  const registry = ref.registry;
  const hubAlias = registry !== undefined && registry.port === undefined && /^(index\.)?docker\.io$/i.test(registry.host);
  if (registry === undefined || hubAlias) {
    const hub = await vetRawHost(DOCKER_HUB_PULL_HOST, resolver);
    const url = new URL(`docker://${DOCKER_HUB}/${ref.repository}${ref.suffix}`);
    return { url, scheme: 'docker', host: hub.host, port: 443, addresses: hub.addresses };
  }
  const vetted = await vetRawHost(registry.host, resolver, policy.blockedHostSuffixes);
  const hostPort = registry.port === undefined ? vetted.host : `${vetted.host}:${registry.port}`;
  let url: URL;
  try {
    url = new URL(`docker://${hostPort}/${ref.repository}${ref.suffix}`);
  } catch {
    throw urlNotAllowed('malformed image reference');
  }
  return { url, scheme: 'docker', host: vetted.host, port: registry.port ?? 443, addresses: vetted.addresses };
}

function checkBucket(bucket: string): void {
  if (bucket.includes('@')) throw urlNotAllowed('credentials (userinfo) in the URL are not accepted');
  if (bucket.includes(':')) throw urlNotAllowed('an s3 URL names a bucket, not a host and port; use the endpoint option');
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw urlNotAllowed(`'${bucket.slice(0, 80)}' is not a valid bucket name`);
  if (endsInNumber(bucket)) throw urlNotAllowed('a bucket name must not be formatted as an IP address');
}

async function vetS3(
  rawUrl: string,
  parts: RawParts,
  policy: OutboundPolicy,
  resolver: HostResolver,
  options: OutboundUrlOptions,
): Promise<VettedUrl> {
  if (parts.rest.includes('?')) throw urlNotAllowed('an s3 URL has no query');
  const { authority: bucket, tail } = authorityOf(parts.rest);
  checkBucket(bucket);
  const key = tail.slice(1);
  if (key === '' || key.length > 1024) throw urlNotAllowed('an s3 URL needs an object key (s3://bucket/key)');
  const endpointRaw = options.s3Endpoint ?? DEFAULT_S3_ENDPOINT;
  const endpointPolicy: OutboundPolicy = { ...policy, allowedSchemes: ['https', 'http'] };
  const endpoint = await vetHttp(endpointRaw, splitRaw(endpointRaw, endpointPolicy), endpointPolicy, resolver);
  if (endpoint.url.pathname !== '/' || endpoint.url.search !== '') {
    throw urlNotAllowed('the s3 endpoint must be an origin (scheme, host and port only)');
  }
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw urlNotAllowed('not a valid URL');
  }
  return {
    url,
    scheme: 's3',
    host: endpoint.host,
    port: endpoint.port,
    addresses: endpoint.addresses,
    endpoint: endpoint.url,
  };
}

/**
 * Decides whether the service may fetch from / deliver to `rawUrl` (SSRF guard for image imports
 * and webhook targets). Refuses with `UnprocessableError` (code `URL_NOT_ALLOWED`, the reason in
 * `details.reason`) when the scheme is not allowed, plain http targets a host not on the
 * allow-list, the URL carries credentials, a fragment, backslashes or ambiguous encodings, or the
 * host is, encodes or resolves to any loopback, private, link-local, metadata, reserved or
 * cluster-internal destination. A resolver failure throws `UpstreamUnavailableError`
 * (`DNS_UNAVAILABLE`). Reads nothing but `resolver`; never fetches the URL.
 */
export async function checkOutboundUrl(
  rawUrl: string,
  policy: OutboundPolicy,
  resolver: HostResolver,
  options: OutboundUrlOptions = {},
): Promise<VettedUrl> {
  const parts = splitRaw(rawUrl, policy);
  switch (parts.scheme) {
    case 'http':
    case 'https':
      return vetHttp(rawUrl, parts, policy, resolver);
    case 'docker':
      return vetDocker(parts, policy, resolver);
    case 's3':
      return vetS3(rawUrl, parts, policy, resolver, options);
  }
}
