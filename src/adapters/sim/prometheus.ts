import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A simulated Prometheus query endpoint serving KubeVirt's VM usage metrics. It answers
 * `GET|POST /api/v1/query` (form or URL fields `query`, `time`) as the Prometheus HTTP API does,
 * for exactly the query shapes the usage adapter sends:
 *
 * - `sum by (namespace, name) (rate(<metric>{namespace=~"…",name=~"…"}[<n>s]))`, alone or two of
 *   them joined by ` + ` (network: receive + transmit; disk: read + write);
 * - `max by (namespace, vmi) (kubevirt_vmi_last_api_connection_timestamp_seconds{namespace=~"…",vmi=~"…"})`.
 *
 * Any other query is refused with 400 `bad_data`, as Prometheus refuses one it cannot parse. The
 * series hold rates directly (cores, bytes per second) as tests set them; a VM without a series
 * for a metric is absent from that metric's result, as a VM Prometheus has not scraped is.
 */

export interface SimPrometheusRequest {
  readonly method: string;
  readonly query: string;
  readonly time: string | undefined;
  readonly authorization: string | undefined;
}

interface Series {
  cpu?: number;
  networkReceive?: number;
  networkTransmit?: number;
  diskRead?: number;
  diskWrite?: number;
  lastConnection?: number;
}

type Field = Exclude<keyof Series, 'lastConnection'>;

const RATE_METRICS: Readonly<Record<string, Field>> = {
  kubevirt_vmi_cpu_usage_seconds_total: 'cpu',
  kubevirt_vmi_network_receive_bytes_total: 'networkReceive',
  kubevirt_vmi_network_transmit_bytes_total: 'networkTransmit',
  kubevirt_vmi_storage_read_traffic_bytes_total: 'diskRead',
  kubevirt_vmi_storage_write_traffic_bytes_total: 'diskWrite',
};
const SUMMED = new Set(['networkReceive+networkTransmit', 'diskRead+diskWrite']);

const STR = String.raw`"(?:[^"\\]|\\.)*"`;
const RATE_SUM = String.raw`sum by \(namespace, name\) \(rate\(([a-z_]+)\{namespace=~(${STR}),name=~(${STR})\}\[([1-9]\d{0,6})s\]\)\)`;
const RATE_QUERY = new RegExp(`^${RATE_SUM}(?: \\+ ${RATE_SUM})?$`);
const CONSOLE_QUERY = new RegExp(
  String.raw`^max by \(namespace, vmi\) \(kubevirt_vmi_last_api_connection_timestamp_seconds\{namespace=~(${STR}),vmi=~(${STR})\}\)$`,
);
const MAX_BODY = 1024 * 1024;

class BadData extends Error {}

function unquote(literal: string): string {
  try {
    return JSON.parse(literal) as string;
  } catch {
    throw new BadData(`invalid string literal ${literal.slice(0, 40)}`);
  }
}

function matcher(literal: string): RegExp {
  const source = unquote(literal);
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    throw new BadData(`invalid regular expression in ${literal.slice(0, 40)}`);
  }
}

function evalTime(raw: string | undefined, now: Date): number {
  if (raw === undefined || raw === '') return now.getTime() / 1000;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const at = Date.parse(raw);
  if (Number.isNaN(at)) throw new BadData(`invalid parameter "time": cannot parse "${raw.slice(0, 40)}" to a valid timestamp`);
  return at / 1000;
}

export interface SimPrometheusOptions {
  /** Default time of queries without `time`. */
  readonly now?: () => Date;
}

export interface SimPrometheus {
  /** Where it listens, e.g. `http://127.0.0.1:41234` (after `listen`). */
  readonly url: string;
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** CPU cores a VMI uses (the rate of `kubevirt_vmi_cpu_usage_seconds_total`). */
  setCpu(namespace: string, name: string, cores: number): void;
  /** Bytes per second received and sent. */
  setNetwork(namespace: string, name: string, rates: { receive: number; transmit: number }): void;
  /** Bytes per second read and written. */
  setDisk(namespace: string, name: string, rates: { read: number; write: number }): void;
  /** The last API connection (console, VNC, SSH, port-forward) to a VMI. */
  setLastConnection(namespace: string, name: string, at: Date): void;
  /** All of a VMI's series at once. */
  setUsage(namespace: string, name: string, usage: { cpu: number; network: number; disk: number }): void;
  /** Drops one series of a VMI (or all of them). */
  remove(namespace: string, name: string, metric?: keyof Series): void;
  /** Requires `Authorization: Bearer <token>` (401 otherwise, as a proxy in front would answer). */
  requireBearer(token: string | undefined): void;
  /**
   * The next answers (to queries `match` finds, default any) are this instead of a result (e.g. 503
   * `timeout`, 422 `execution`).
   */
  failNext(fault: { status: number; body: string; contentType?: string; match?: RegExp }, times?: number): void;
  /** Holds every answer until `hang(false)` (or close), for timeouts. */
  hang(on: boolean): void;
  /** The queries received, oldest first. */
  readonly requests: readonly SimPrometheusRequest[];
}

export function createSimPrometheus(options: SimPrometheusOptions = {}): SimPrometheus {
  const now = options.now ?? (() => new Date());
  const series = new Map<string, { namespace: string; name: string; s: Series }>();
  const requests: SimPrometheusRequest[] = [];
  const faults: { status: number; body: string; contentType: string; match: RegExp | undefined }[] = [];
  const held = new Set<() => void>();
  let hanging = false;
  let bearer: string | undefined;
  let url = '';

  const entry = (namespace: string, name: string): Series => {
    const key = `${namespace}\u0000${name}`;
    let e = series.get(key);
    if (e === undefined) {
      e = { namespace, name, s: {} };
      series.set(key, e);
    }
    return e.s;
  };

  function select(nsLiteral: string, nameLiteral: string) {
    const ns = matcher(nsLiteral);
    const name = matcher(nameLiteral);
    return [...series.values()].filter((e) => ns.test(e.namespace) && name.test(e.name));
  }

  function evaluate(query: string, at: number): { metric: Record<string, string>; value: [number, string] }[] {
    const rate = RATE_QUERY.exec(query);
    if (rate !== null) {
      const [, m1, ns1, name1, w1, m2, ns2, name2, w2] = rate as unknown as (string | undefined)[];
      const f1 = RATE_METRICS[m1 as string];
      const f2 = m2 === undefined ? undefined : RATE_METRICS[m2];
      if (f1 === undefined || (m2 !== undefined && f2 === undefined)) throw new BadData(`unknown metric in ${query.slice(0, 80)}`);
      if (m2 !== undefined && (ns1 !== ns2 || name1 !== name2 || w1 !== w2 || !SUMMED.has(`${f1}+${f2}`))) {
        throw new BadData('the two sides select different VMs, windows or metrics that are not summed together');
      }
      return select(ns1 as string, name1 as string).flatMap((e) => {
        const a = e.s[f1];
        const b = f2 === undefined ? 0 : e.s[f2];
        if (a === undefined || b === undefined) return [];
        return [{ metric: { namespace: e.namespace, name: e.name }, value: [at, String(a + b)] as [number, string] }];
      });
    }
    const consoleQuery = CONSOLE_QUERY.exec(query);
    if (consoleQuery !== null) {
      return select(consoleQuery[1] as string, consoleQuery[2] as string).flatMap((e) =>
        e.s.lastConnection === undefined
          ? []
          : [{ metric: { namespace: e.namespace, vmi: e.name }, value: [at, String(e.s.lastConnection)] as [number, string] }],
      );
    }
    throw new BadData(`invalid parameter "query": not a query this simulated Prometheus serves: ${query.slice(0, 120)}`);
  }

  function send(res: http.ServerResponse, status: number, body: string, contentType = 'application/json'): void {
    const write = () => {
      held.delete(write);
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (hanging) held.add(write);
    else write();
  }

  const badData = (res: http.ServerResponse, error: string) => send(res, 400, JSON.stringify({ status: 'error', errorType: 'bad_data', error }));

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const target = new URL(req.url ?? '/', 'http://sim');
      if (target.pathname !== '/api/v1/query') {
        send(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'POST') {
        send(res, 405, 'Method Not Allowed\n', 'text/plain; charset=utf-8');
        return;
      }
      const params = new URLSearchParams(target.search);
      if (req.method === 'POST') {
        if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
          badData(res, 'invalid parameter "query": expected a form body');
          return;
        }
        for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.append(k, v);
      }
      const query = params.get('query') ?? '';
      const time = params.get('time') ?? undefined;
      requests.push({ method: req.method, query, time, authorization: req.headers.authorization });
      if (bearer !== undefined && req.headers.authorization !== `Bearer ${bearer}`) {
        send(res, 401, 'Unauthorized\n', 'text/plain; charset=utf-8');
        return;
      }
      const at = faults.findIndex((f) => f.match === undefined || f.match.test(query));
      const fault = at < 0 ? undefined : faults.splice(at, 1)[0];
      if (fault !== undefined) {
        send(res, fault.status, fault.body, fault.contentType);
        return;
      }
      if (query === '') {
        badData(res, 'invalid parameter "query": unknown position: parse error: no expression found in input');
        return;
      }
      try {
        const at = evalTime(time, now());
        const result = evaluate(query, at);
        send(res, 200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
      } catch (err) {
        if (err instanceof BadData) badData(res, err.message);
        else send(res, 500, JSON.stringify({ status: 'error', errorType: 'internal', error: 'simulated Prometheus failed' }));
      }
    });
  });

  return {
    get url() {
      return url;
    },
    get requests() {
      return requests;
    },
    async listen(port = 0, host = '127.0.0.1') {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const addr = server.address() as AddressInfo;
      url = `http://${host}:${addr.port}`;
      return url;
    },
    async close() {
      hanging = false;
      for (const write of [...held]) write();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    setCpu(namespace, name, cores) {
      entry(namespace, name).cpu = cores;
    },
    setNetwork(namespace, name, rates) {
      Object.assign(entry(namespace, name), { networkReceive: rates.receive, networkTransmit: rates.transmit });
    },
    setDisk(namespace, name, rates) {
      Object.assign(entry(namespace, name), { diskRead: rates.read, diskWrite: rates.write });
    },
    setLastConnection(namespace, name, at) {
      entry(namespace, name).lastConnection = Math.floor(at.getTime() / 1000);
    },
    setUsage(namespace, name, usage) {
      Object.assign(entry(namespace, name), {
        cpu: usage.cpu,
        networkReceive: usage.network / 2,
        networkTransmit: usage.network / 2,
        diskRead: usage.disk / 2,
        diskWrite: usage.disk / 2,
      });
    },
    remove(namespace, name, metric) {
      if (metric === undefined) series.delete(`${namespace}\u0000${name}`);
      else delete entry(namespace, name)[metric];
    },
    requireBearer(token) {
      bearer = token;
    },
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) {
        faults.push({ status: fault.status, body: fault.body, contentType: fault.contentType ?? 'application/json', match: fault.match });
      }
    },
    hang(on) {
      hanging = on;
      if (!on) for (const write of [...held]) write();
    },
  };
}
