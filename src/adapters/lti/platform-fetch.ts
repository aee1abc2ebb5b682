import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { PlatformFetch } from '../../domain/lti/ports.js';
import { checkOutboundUrl, type HostResolver } from '../../domain/net/index.js';
import { isDomainError, UpstreamRejectedError, UpstreamUnavailableError } from '../../domain/shared/errors.js';

export interface PlatformFetchOptions {
  /**
   * Resolves platform host names; every address is vetted (no loopback, private, link-local,
   * metadata or cluster-internal destination) and the connection is pinned to the vetted addresses.
   * Required unless `allowPrivate`.
   */
  readonly resolver?: HostResolver;
  /**
   * The embedded default only: plain http and loopback/private addresses are accepted (the simulated
   * LMS is served by this very process). Never set in a deployment.
   */
  readonly allowPrivate?: boolean;
  /** Budget of one exchange (connect, answer, whole body), ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** Largest response body read, bytes; larger is `LTI_PLATFORM_BAD_ANSWER`. Default 5 MiB. */
  readonly maxResponseBytes?: number;
  /** Extra trusted CA certificates (PEM), e.g. for tests; the system's are always trusted. */
  readonly ca?: string | Buffer;
  /** Extra host name suffixes to refuse, e.g. the cluster's namespace names. */
  readonly blockedHostSuffixes?: readonly string[];
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024;
/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function bodyOf(init: RequestInit | undefined): string | Buffer | undefined {
  const b = init?.body;
  if (b === undefined || b === null) return undefined;
  if (typeof b === 'string') return b;
  if (b instanceof URLSearchParams) return b.toString();
  if (b instanceof Uint8Array) return Buffer.from(b);
  throw new TypeError('platform fetch sends string, URLSearchParams or byte bodies only');
}

function headersOf(init: RequestInit | undefined, body: string | Buffer | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  new Headers(init?.headers).forEach((value, key) => {
    out[key] = value;
  });
  if (init?.body instanceof URLSearchParams && out['content-type'] === undefined) {
    out['content-type'] = 'application/x-www-form-urlencoded;charset=UTF-8';
  }
  if (body !== undefined) out['content-length'] = String(Buffer.byteLength(body));
  return out;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function pinnedLookup(addresses: readonly string[]): LookupFunction {
  const entries = addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
  return (_hostname, options, callback) => {
    if (options.all === true) (callback as unknown as (e: null, a: typeof entries) => void)(null, entries);
    else callback(null, entries[0]?.address ?? '', entries[0]?.family ?? 4);
  };
}

function unavailable(url: URL, reason: string, cause?: unknown): UpstreamUnavailableError {
  return new UpstreamUnavailableError('LTI_PLATFORM_UNAVAILABLE', `The LMS at ${url.host} could not be reached: ${reason}.`, {
    cause,
    details: { host: url.host },
  });
}

function reasonOf(err: unknown): string {
  const code = typeof (err as { code?: unknown } | undefined)?.code === 'string' ? (err as { code: string }).code : undefined;
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the host is unreachable';
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `the TLS handshake failed (${code})`;
  return `the connection failed${code === undefined ? '' : ` (${code.slice(0, 40)})`}`;
}

/**
 * The `PlatformFetch` the tool reaches LMS URLs with (JWKS, token endpoint, NRPS). In a deployment
 * (the default): https only, the URL passes the outbound guard (`checkOutboundUrl`: no loopback,
 * private, link-local, metadata or cluster-internal host, checked on every address the name
 * resolves to) and the connection goes to the vetted addresses only (no second DNS lookup, so no
 * rebinding). Always: redirects are not followed (a 3xx is returned as is; callers treat it as a
 * wrong answer), the body is capped, and the whole exchange has a timeout. Transport failures and
 * timeouts are `UpstreamUnavailableError` (`LTI_PLATFORM_UNAVAILABLE`, retryable); a refused URL is
 * `UnprocessableError` (`URL_NOT_ALLOWED`); an oversized body is `LTI_PLATFORM_BAD_ANSWER`. An abort
 * by the caller's own signal rejects with that signal's reason.
 */
export function createPlatformFetch(options: PlatformFetchOptions): PlatformFetch {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const allowPrivate = options.allowPrivate === true;
  const resolver = options.resolver;
  if (!allowPrivate && resolver === undefined) throw new TypeError('createPlatformFetch needs a resolver unless allowPrivate');

  return async (rawUrl, init) => {
    let url: URL;
    let addresses: readonly string[] | undefined;
    if (allowPrivate) {
      url = new URL(rawUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw unavailable(url, `scheme ${url.protocol} is not fetched`);
    } else {
      const vetted = await checkOutboundUrl(
        rawUrl,
        {
          allowedSchemes: ['https'],
          httpAllowedHosts: [],
          ...(options.blockedHostSuffixes ? { blockedHostSuffixes: options.blockedHostSuffixes } : {}),
        },
        resolver as HostResolver,
      );
      url = vetted.url;
      addresses = vetted.addresses;
    }
    const callerSignal = init?.signal ?? undefined;
    callerSignal?.throwIfAborted();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = callerSignal === undefined ? timeout : AbortSignal.any([callerSignal, timeout]);
    const body = bodyOf(init);
    const isHttps = url.protocol === 'https:';
    const hostname = stripBrackets(url.hostname);
    const requestOptions: https.RequestOptions = {
      protocol: url.protocol,
      hostname,
      port: url.port === '' ? (isHttps ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: (init?.method ?? 'GET').toUpperCase(),
      headers: { ...headersOf(init, body), host: url.host },
      agent: false,
      signal,
      ...(addresses === undefined ? {} : { lookup: pinnedLookup(addresses) }),
      ...(isHttps && isIP(hostname) === 0 ? { servername: hostname } : {}),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
    };

    return new Promise<Response>((resolve, reject) => {
      const fail = (err: unknown): void => {
        if (callerSignal?.aborted === true) reject(callerSignal.reason);
        else if (timeout.aborted) reject(unavailable(url, `no complete answer within ${timeoutMs} ms`, err));
        else if (isDomainError(err)) reject(err);
        else reject(unavailable(url, reasonOf(err), err));
      };
      const req = (isHttps ? https : http).request(requestOptions, (res) => {
        const chunks: Buffer[] = [];
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > maxBytes) {
            res.destroy(
              new UpstreamRejectedError('LTI_PLATFORM_BAD_ANSWER', `The LMS at ${url.host} answered with more than ${maxBytes} bytes.`, {
                details: { host: url.host },
              }),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const headers = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
          }
          if (status < 200 || status > 599) {
            fail(new Error(`unexpected status ${status}`));
            return;
          }
          resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers }));
        });
      });
      req.on('error', fail);
      req.end(body);
    });
  };
}
