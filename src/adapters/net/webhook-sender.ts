import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { DeliveryTransportError, type OutboundDelivery, type WebhookSender } from '../../domain/webhooks/delivery.js';

export interface HttpWebhookSenderOptions {
  /** Extra trusted CA certificates (PEM), e.g. for tests; the system's are always trusted. */
  readonly ca?: string | Buffer;
}

/** Where one POST goes at the socket level, and what it carries. */
export interface PostTarget {
  readonly protocol: 'http:' | 'https:';
  /** Host name for TLS (SNI and certificate) and the Host header. */
  readonly hostname: string;
  readonly port: number;
  readonly path: string;
  readonly hostHeader: string;
  /** Every address the connection may use (pinned: no DNS query is made). */
  readonly addresses: readonly string[];
  readonly ca?: string | Buffer;
}

const MAX_RESPONSE_BYTES = 64 * 1024;

function reasonOf(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const e = err as { code?: unknown; name?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (e?.name === 'AbortError' || code === 'ABORT_ERR') return 'the attempt was interrupted (the worker is stopping)';
  if (code === 'ECONNREFUSED') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'the connection was reset';
  if (code === 'ETIMEDOUT') return 'the connection timed out';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'the host is unreachable';
  if (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `the TLS handshake failed (${code})`;
  return `the connection failed${code === undefined ? '' : ` (${code.slice(0, 40)})`}`;
}

/**
 * One POST: connects only to `target.addresses` (the `lookup` answers from them), keeps the Host
 * header and TLS server name of the URL, follows no redirect, and resolves with the status as soon
 * as the response head arrives (the body is drained and dropped). Failures without an answer reject
 * with `DeliveryTransportError` (safe reasons only).
 */
export function postOnce(target: PostTarget, d: Pick<OutboundDelivery, 'headers' | 'body' | 'timeoutMs' | 'signal'>): Promise<{ status: number }> {
  if (target.addresses.length === 0) return Promise.reject(new DeliveryTransportError('no vetted address to connect to'));
  const entries = target.addresses.map((address) => ({ address, family: isIP(address) === 6 ? 6 : 4 }));
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) (callback as unknown as (e: null, a: typeof entries) => void)(null, entries);
    else callback(null, entries[0]?.address ?? '', entries[0]?.family ?? 4);
  };
  const timeout = AbortSignal.timeout(d.timeoutMs);
  const signal = d.signal === undefined ? timeout : AbortSignal.any([d.signal, timeout]);
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = {
      protocol: target.protocol,
      hostname: target.hostname,
      port: target.port,
      path: target.path,
      method: 'POST',
      headers: { ...d.headers, host: target.hostHeader, 'content-length': String(Buffer.byteLength(d.body)) },
      lookup,
      agent: false,
      signal,
      ...(target.protocol === 'https:' && isIP(target.hostname) === 0 ? { servername: target.hostname } : {}),
      ...(target.ca === undefined ? {} : { ca: target.ca }),
    };
    const req = (target.protocol === 'https:' ? https : http).request(options, (res) => {
      resolve({ status: res.statusCode ?? 0 });
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > MAX_RESPONSE_BYTES) res.destroy();
      });
      res.on('error', () => undefined);
    });
    req.on('error', (err) => reject(new DeliveryTransportError(reasonOf(err, timeout.aborted, d.timeoutMs), { cause: err })));
    req.end(d.body);
  });
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `WebhookSender` over node:http(s), connecting to the vetted addresses only. */
export function createHttpWebhookSender(options: HttpWebhookSenderOptions = {}): WebhookSender {
  return {
    send(d) {
      const protocol = d.url.protocol === 'https:' ? 'https:' : d.url.protocol === 'http:' ? 'http:' : undefined;
      if (protocol === undefined) return Promise.reject(new DeliveryTransportError(`scheme ${d.url.protocol} is not sent to`));
      return postOnce(
        {
          protocol,
          hostname: stripBrackets(d.url.hostname),
          port: d.url.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(d.url.port),
          path: `${d.url.pathname}${d.url.search}`,
          hostHeader: d.url.host,
          addresses: d.addresses,
          ...(options.ca === undefined ? {} : { ca: options.ca }),
        },
        d,
      );
    },
  };
}
