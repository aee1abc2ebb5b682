/**
 * Resolves a host name to every address it currently has (A and AAAA records), as text
 * (`93.184.216.34`, `2606:2800:220:1::1`). Contract:
 * - a name that does not exist or has no address records resolves to `[]`;
 * - a transient failure (timeout, SERVFAIL, unreachable server) throws; the guard reports it as
 *   `UpstreamUnavailableError` (retryable), never as a pass.
 * Implementations: node:dns (adapters/net/dns-resolver) and an in-memory table for tests.
 */
export interface HostResolver {
  resolve(host: string): Promise<readonly string[]>;
}
