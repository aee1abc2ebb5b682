import { z } from 'zod';

/**
 * The PromQL the usage adapter sends, and the Prometheus HTTP API answers it reads. KubeVirt's
 * per-VMI resource metrics (exported by virt-handler) carry the labels `namespace` and `name`;
 * its connection metrics (exported by virt-api) carry `namespace` and `vmi`.
 */
export const METRICS = {
  cpu: 'kubevirt_vmi_cpu_usage_seconds_total',
  networkReceive: 'kubevirt_vmi_network_receive_bytes_total',
  networkTransmit: 'kubevirt_vmi_network_transmit_bytes_total',
  diskRead: 'kubevirt_vmi_storage_read_traffic_bytes_total',
  diskWrite: 'kubevirt_vmi_storage_write_traffic_bytes_total',
  lastConnection: 'kubevirt_vmi_last_api_connection_timestamp_seconds',
} as const;

/** A PromQL double-quoted string literal (Go escapes: backslash, quote and line breaks). */
export function promString(value: string): string {
  const escaped = value.replace(/[\\"\n\r\t]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\${c}`;
    }
  });
  return `"${escaped}"`;
}

/** `value` as an RE2 pattern matching exactly itself (Go's regexp.QuoteMeta). */
export function quoteRegex(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** An RE2 alternation matching exactly the given values (sorted, without duplicates). */
export function alternation(values: Iterable<string>): string {
  return [...new Set(values)].sort().map(quoteRegex).join('|');
}

export interface VmSelection {
  readonly namespaces: readonly string[];
  readonly names: readonly string[];
}

function selector(vms: VmSelection, nameLabel: 'name' | 'vmi'): string {
  return `{namespace=~${promString(alternation(vms.namespaces))},${nameLabel}=~${promString(alternation(vms.names))}}`;
}

function rateSum(metric: string, vms: VmSelection, windowSeconds: number): string {
  return `sum by (namespace, name) (rate(${metric}${selector(vms, 'name')}[${windowSeconds}s]))`;
}

/** The four queries of one usage reading: each covers every VM of the selection at once. */
export function usageQueries(vms: VmSelection, windowSeconds: number): { cpu: string; network: string; disk: string; console: string } {
  return {
    cpu: rateSum(METRICS.cpu, vms, windowSeconds),
    network: `${rateSum(METRICS.networkReceive, vms, windowSeconds)} + ${rateSum(METRICS.networkTransmit, vms, windowSeconds)}`,
    disk: `${rateSum(METRICS.diskRead, vms, windowSeconds)} + ${rateSum(METRICS.diskWrite, vms, windowSeconds)}`,
    // virt-api exports it from each of its replicas: the latest is the VM's last connection.
    console: `max by (namespace, vmi) (${METRICS.lastConnection}${selector(vms, 'vmi')})`,
  };
}

/** A sample value: a float as Prometheus prints it (`"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`). */
const sampleValue = z.string().transform((s, ctx) => {
  const v = s === '+Inf' || s === 'Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
  if (s.trim() === '' || (Number.isNaN(v) && s !== 'NaN')) {
    ctx.addIssue({ code: 'custom', message: 'not a sample value' });
    return z.NEVER;
  }
  return v;
});

const vectorSample = z.object({
  metric: z.record(z.string(), z.string()),
  value: z.tuple([z.number(), sampleValue]),
});

/** The envelope of every Prometheus HTTP API answer. */
export const apiAnswer = z.union([
  z.object({
    status: z.literal('success'),
    data: z.object({ resultType: z.string(), result: z.unknown() }),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({
    status: z.literal('error'),
    errorType: z.string().max(200),
    error: z.string(),
  }),
]);

export const vectorResult = z.array(vectorSample);

/** One sample per VM of a vector result, keyed by `namespace/<name label>`; non-finite values are dropped. */
export function samplesByVm(samples: z.infer<typeof vectorResult>, nameLabel: 'name' | 'vmi'): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    const ns = s.metric['namespace'];
    const name = s.metric[nameLabel];
    const v = s.value[1];
    if (ns === undefined || name === undefined || !Number.isFinite(v)) continue;
    out.set(vmKey(ns, name), v);
  }
  return out;
}

export function vmKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
