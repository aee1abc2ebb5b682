import { Resolver } from 'node:dns/promises';
import type { HostResolver } from '../../domain/net/host-resolver.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';

/** Options of the node:dns resolver adapter. */
export interface DnsResolverOptions {
  /** DNS servers (`1.2.3.4`, `[::1]:5353`, `127.0.0.1:5353`); default: the system's (resolv.conf). */
  readonly servers?: readonly string[];
  /** Budget for one `resolve` (A and AAAA together), in milliseconds. Default 3000. */
  readonly timeoutMs?: number;
  /** Attempts per query inside that budget. Default 2. */
  readonly tries?: number;
}

/** Answers that mean "this name has no such records", as opposed to "could not find out". */
const NO_RECORDS = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'NOTFOUND', 'NODATA']);

function codeOf(err: unknown): string {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : 'UNKNOWN';
}

/**
 * `HostResolver` over node:dns (c-ares): queries A and AAAA in parallel on the configured servers,
 * with the resolv.conf search domains, so in a pod it sees what an importer pod would see
 * (`svc.ns` names resolve to service IPs and are then refused). It does not read /etc/hosts:
 * callers should connect to the vetted addresses. NXDOMAIN / NODATA for both families → `[]`;
 * a timeout or server failure of either family throws `UpstreamUnavailableError` (DNS_UNAVAILABLE),
 * because a missing AAAA answer could hide a private address.
 */
export function createDnsResolver(options: DnsResolverOptions = {}): HostResolver {
  const timeoutMs = options.timeoutMs ?? 3000;
  const tries = options.tries ?? 2;
  const servers = options.servers;
  return {
    async resolve(host) {
      const resolver = new Resolver({ timeout: Math.max(50, Math.floor(timeoutMs / tries)), tries });
      if (servers !== undefined) resolver.setServers([...servers]);
      const timer = setTimeout(() => resolver.cancel(), timeoutMs);
      try {
        const results = await Promise.allSettled([resolver.resolve4(host), resolver.resolve6(host)]);
        const addresses: string[] = [];
        for (const r of results) {
          if (r.status === 'fulfilled') {
            addresses.push(...r.value);
          } else if (!NO_RECORDS.has(codeOf(r.reason))) {
            throw new UpstreamUnavailableError('DNS_UNAVAILABLE', `Could not resolve '${host}' (${codeOf(r.reason)}).`, {
              cause: r.reason,
            });
          }
        }
        return addresses;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
