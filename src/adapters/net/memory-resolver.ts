import type { HostResolver } from '../../domain/net/host-resolver.js';

/** In-memory `HostResolver` for tests and the embedded default: a table, plus fault injection. */
export interface MemoryResolver extends HostResolver {
  /** Sets (replaces) the addresses of `host` (lower-case name). */
  set(host: string, addresses: readonly string[]): void;
  /** Makes the next `resolve` call throw `err` (a transient DNS failure). */
  failNext(err?: Error): void;
  /** Every host asked for, in order. */
  readonly lookups: readonly string[];
}

/** Unknown names resolve to `[]` (NXDOMAIN); nothing touches the network. */
export function createMemoryResolver(records: Readonly<Record<string, readonly string[]>> = {}): MemoryResolver {
  const table = new Map<string, readonly string[]>(Object.entries(records));
  const lookups: string[] = [];
  let nextFailure: Error | undefined;
  return {
    lookups,
    set(host, addresses) {
      table.set(host, [...addresses]);
    },
    failNext(err = Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' })) {
      nextFailure = err;
    },
    resolve(host) {
      lookups.push(host);
      if (nextFailure !== undefined) {
        const err = nextFailure;
        nextFailure = undefined;
        return Promise.reject(err);
      }
      return Promise.resolve(table.get(host) ?? []);
    },
  };
}
