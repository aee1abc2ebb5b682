import { readFile } from 'node:fs/promises';
import type { TokenCredential } from '@azure/identity';
import { isDomainError, UpstreamRejectedError, UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { UsageMetrics, UsageVmRef, VmUsageResult } from '../../domain/usage/ports.js';
import { apiAnswer, samplesByVm, usageQueries, vectorResult, vmKey } from './promql.js';

/** Token audience of Azure Monitor managed Prometheus (its query endpoint). */
export const AZURE_MONITOR_PROMETHEUS_SCOPE = 'https://prometheus.monitor.azure.com/.default';

/** How requests to Prometheus authenticate. Tokens come from configuration, never from a request. */
export type PrometheusAuth =
  | { readonly kind: 'none' }
  /** A fixed bearer token. */
  | { readonly kind: 'bearer'; readonly token: string }
  /** A bearer token read from a file on every query (a projected service account token rotates). */
  | { readonly kind: 'bearer-file'; readonly path: string }
  /** An Azure AD token for Azure Monitor managed Prometheus (or `scope`). */
  | { readonly kind: 'credential'; readonly credential: TokenCredential; readonly scope?: string };

export interface PrometheusUsageOptions {
  /** The Prometheus server (or Azure Monitor workspace query endpoint), e.g. `http://prometheus.monitoring:9090`; a path prefix is kept. */
  readonly baseUrl: string;
  readonly auth: PrometheusAuth;
  /** Budget of one query (connect, answer, whole body), ms. Default 10 000. */
  readonly timeoutMs?: number;
  /** Largest answer read, bytes; larger is `USAGE_METRICS_BAD_ANSWER`. Default 8 MiB. */
  readonly maxResponseBytes?: number;
  /** VMs asked about in one query; more are read in several rounds. Default 200. */
  readonly maxVmsPerQuery?: number;
  /** Evaluation time of the queries (`time`). */
  readonly clock?: Clock;
  /** Default the global fetch. */
  readonly fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_MAX_VMS_PER_QUERY = 200;

/**
 * `UsageMetrics` over the Prometheus HTTP API (instant queries, `POST /api/v1/query` with the
 * form fields `query` and `time`): one query per signal for many VMs at once (see `usageQueries`).
 * A VM gets figures only when CPU, network and disk all have a series for it; otherwise its
 * reading is `'unavailable'`. The console time is optional (there is none until someone connects).
 *
 * Failures: unreachable, timed out, 5xx or Prometheus' `timeout`/`canceled`/`unavailable` errors
 * are `USAGE_METRICS_UNAVAILABLE` (retryable); 400/422 answers (`bad_data`, `execution`) and
 * 401/403 are `USAGE_METRICS_REJECTED`; anything that is not a Prometheus answer, or larger than
 * the cap, is `USAGE_METRICS_BAD_ANSWER`. Tokens are never part of an error or a log.
 */
export function createPrometheusUsage(options: PrometheusUsageOptions): UsageMetrics {
  const base = new URL(options.baseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new TypeError('the Prometheus URL must be http or https');
  const endpoint = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/query`, base).toString();
  const host = base.host;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const perQuery = options.maxVmsPerQuery ?? DEFAULT_MAX_VMS_PER_QUERY;
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? ((url: string, init: RequestInit) => fetch(url, init));

  const unavailable = (reason: string, cause?: unknown, retryAfterSeconds?: number) =>
    new UpstreamUnavailableError('USAGE_METRICS_UNAVAILABLE', `Prometheus at ${host} could not answer: ${reason}.`, {
      cause,
      details: { host },
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  const rejected = (reason: string) =>
    new UpstreamRejectedError('USAGE_METRICS_REJECTED', `Prometheus at ${host} refused the query: ${reason}.`, { details: { host } });
  const badAnswer = (reason: string) =>
    new UpstreamRejectedError('USAGE_METRICS_BAD_ANSWER', `Prometheus at ${host} answered with ${reason}.`, { details: { host } });

  async function authorization(): Promise<string | undefined> {
    const auth = options.auth;
    switch (auth.kind) {
      case 'none':
        return undefined;
      case 'bearer':
        return `Bearer ${auth.token}`;
      case 'bearer-file': {
        let token: string;
        try {
          token = (await readFile(auth.path, 'utf8')).trim();
        } catch (err) {
          throw unavailable('its bearer token file cannot be read', err);
        }
        if (token === '') throw unavailable('its bearer token file is empty');
        return `Bearer ${token}`;
      }
      case 'credential': {
        let token;
        try {
          token = await auth.credential.getToken(auth.scope ?? AZURE_MONITOR_PROMETHEUS_SCOPE);
        } catch (err) {
          throw new UpstreamUnavailableError('AZURE_CREDENTIAL_UNAVAILABLE', 'Azure AD could not issue a token for Prometheus; try again later.', {
            cause: err,
          });
        }
        if (token === null || token.token === '') {
          throw new UpstreamUnavailableError('AZURE_CREDENTIAL_UNAVAILABLE', 'Azure AD issued no token for Prometheus; try again later.');
        }
        return `Bearer ${token.token}`;
      }
    }
  }

  async function readCapped(res: Response): Promise<string> {
    const declared = Number(res.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw badAnswer(`more than ${maxBytes} bytes`);
    }
    if (res.body === null) return '';
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let seen = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      if (seen > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw badAnswer(`more than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Runs one instant query and returns its vector result. */
  async function query(promql: string, at: Date, authz: string | undefined, round: AbortSignal): Promise<ReturnType<typeof vectorResult.parse>> {
    const body = new URLSearchParams({ query: promql, time: (at.getTime() / 1000).toFixed(3) });
    const headers: Record<string, string> = {
      accept: 'application/json',
      'content-type': 'application/x-www-form-urlencoded',
    };
    if (authz !== undefined) headers['authorization'] = authz;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([timeout, round]);
    let res: Response;
    let text: string;
    try {
      res = await doFetch(endpoint, { method: 'POST', headers, body, signal, redirect: 'manual' });
      text = await readCapped(res);
    } catch (err) {
      if (isDomainError(err)) throw err;
      if (timeout.aborted) throw unavailable(`no complete answer within ${timeoutMs} ms`, err);
      throw unavailable('the connection failed', err);
    }
    const status = res.status;
    if (status === 401 || status === 403) throw rejected(`HTTP ${status}: the platform's credentials were not accepted`);
    if (status >= 300 && status < 400) throw badAnswer(`a redirect (HTTP ${status})`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const answer = apiAnswer.safeParse(parsed);
    if (!answer.success) {
      if (status >= 500 || status === 429) throw unavailable(`HTTP ${status}`, undefined, retryAfter(res));
      throw badAnswer(`something that is not a Prometheus API answer (HTTP ${status})`);
    }
    if (answer.data.status === 'error') {
      const { errorType, error } = answer.data;
      const said = `${errorType}: ${error.slice(0, 300)}`;
      if (status >= 500 || status === 429 || errorType === 'timeout' || errorType === 'canceled' || errorType === 'unavailable') {
        throw unavailable(said, undefined, retryAfter(res));
      }
      throw rejected(said);
    }
    if (status < 200 || status > 299) throw badAnswer(`a success body with HTTP ${status}`);
    if (answer.data.data.resultType !== 'vector') throw badAnswer(`a ${answer.data.data.resultType.slice(0, 20)} result where a vector was asked`);
    const samples = vectorResult.safeParse(answer.data.data.result);
    if (!samples.success) throw badAnswer('a malformed vector result');
    return samples.data;
  }

  async function usageOf(vms: readonly UsageVmRef[], windowSeconds: number, at: Date): Promise<VmUsageResult[]> {
    const q = usageQueries({ namespaces: vms.map((v) => v.tenant), names: vms.map((v) => v.name) }, windowSeconds);
    const authz = await authorization();
    // The first failure ends the reading: the other queries of the round are abandoned.
    const round = new AbortController();
    const run = (promql: string, nameLabel: 'name' | 'vmi') =>
      query(promql, at, authz, round.signal).then(
        (r) => samplesByVm(r, nameLabel),
        (err: unknown) => {
          round.abort();
          throw err;
        },
      );
    const [cpu, network, disk, consoles] = await Promise.all([
      run(q.cpu, 'name'),
      run(q.network, 'name'),
      run(q.disk, 'name'),
      run(q.console, 'vmi'),
    ]);
    return vms.map((vm) => {
      const key = vmKey(vm.tenant, vm.name);
      const cpuCores = cpu.get(key);
      const networkBytesPerSecond = network.get(key);
      const diskBytesPerSecond = disk.get(key);
      if (cpuCores === undefined || networkBytesPerSecond === undefined || diskBytesPerSecond === undefined) {
        return { vm, usage: 'unavailable' as const };
      }
      const console = consoles.get(key);
      return {
        vm,
        usage: {
          cpuCores,
          networkBytesPerSecond,
          diskBytesPerSecond,
          ...(console === undefined || console <= 0 ? {} : { lastConsoleAt: new Date(Math.round(console * 1000)) }),
        },
      };
    });
  }

  return {
    async usage(vms, windowSeconds) {
      if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 7 * 86_400) {
        throw new RangeError('windowSeconds must be a whole number of seconds between 1 and 604800');
      }
      if (vms.length === 0) return [];
      const at = clock.now();
      const out: VmUsageResult[] = [];
      // Rounds in turn, so a large estate does not send many queries to Prometheus at once.
      for (let i = 0; i < vms.length; i += perQuery) {
        out.push(...(await usageOf(vms.slice(i, i + perQuery), windowSeconds, at)));
      }
      return out;
    },
  };
}

function retryAfter(res: Response): number | undefined {
  const raw = res.headers.get('retry-after')?.trim();
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}
