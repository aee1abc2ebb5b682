import type { KubeStatusError } from './errors.js';
import { internalError, rbacDenied, serviceUnavailable, tooManyRequests } from './errors.js';

/** Which requests a fault applies to; omitted fields match everything. */
export interface FaultMatch {
  /** HTTP method, case-insensitive (`GET`, `PUT`, ...). */
  method?: string;
  /** Prefix of the URL path (no query), e.g. `/apis/kubevirt.io/v1/namespaces/lab-1`. */
  pathPrefix?: string;
}

/** An injected failure answered instead of the real response. */
export interface FailOptions extends FaultMatch {
  /** 403: an RBAC refusal, as the authorizer sends when the caller lacks the permission. */
  status: 403 | 429 | 500 | 503;
  /** `Retry-After` in seconds (default 1 for 429, none otherwise). */
  retryAfterSeconds?: number;
}

/** Fault injection into the emulator's HTTP handling. */
export interface FaultInjector {
  /** The next `n` matching requests fail with the given status (a real `v1 Status` body). */
  failNext(n: number, opts: FailOptions): void;
  /** Delays matching requests by `ms` until {@link clear}; overlapping rules add no more than the largest. */
  latency(ms: number, match?: FaultMatch): void;
  /** Abruptly destroys every open watch connection; returns how many were dropped. */
  dropWatches(): number;
  /** Removes all failure and latency rules. */
  clear(): void;
}

interface FailRule extends FailOptions {
  remaining: number;
}

function matches(rule: FaultMatch, method: string, path: string): boolean {
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  return !rule.pathPrefix || path.startsWith(rule.pathPrefix);
}

/** Fault rules plus the hooks the HTTP server consults for each request. */
export class FaultState implements FaultInjector {
  private fails: FailRule[] = [];
  private delays: { ms: number; match: FaultMatch }[] = [];

  constructor(private readonly dropper: () => number) {}

  failNext(n: number, opts: FailOptions): void {
    if (n > 0) this.fails.push({ ...opts, remaining: n });
  }

  latency(ms: number, match: FaultMatch = {}): void {
    this.delays.push({ ms, match });
  }

  dropWatches(): number {
    return this.dropper();
  }

  clear(): void {
    this.fails = [];
    this.delays = [];
  }

  /** The injected error for this request, consuming one failure of the first matching rule. */
  takeFailure(method: string, path: string): KubeStatusError | undefined {
    const rule = this.fails.find((r) => r.remaining > 0 && matches(r, method, path));
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.fails = this.fails.filter((r) => r.remaining > 0);
    if (rule.status === 429) return tooManyRequests(rule.retryAfterSeconds ?? 1);
    if (rule.status === 503) return serviceUnavailable(rule.retryAfterSeconds);
    if (rule.status === 403)
      return rbacDenied(`${method} ${path} is forbidden: User "system:serviceaccount:labplane:labplane" cannot do this (injected fault)`);
    return internalError('injected fault');
  }

  /** Milliseconds to wait before handling this request. */
  delayFor(method: string, path: string): number {
    return this.delays.reduce((max, d) => (matches(d.match, method, path) ? Math.max(max, d.ms) : max), 0);
  }
}
