import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPrometheusUsage } from '../../src/adapters/prometheus/index.js';
import { closedPort } from '../startup/support.js';
import { spawnProc, type Proc } from '../support/processes.js';

/**
 * The usage adapter against a real Prometheus server (Debian's `prometheus` package: `prometheus`
 * and `promtool` on PATH), with KubeVirt's series backfilled as virt-handler and virt-api export
 * them. Skipped where Prometheus is not installed; the simulated server's tests cover the rest.
 */
function installed(command: string): boolean {
  try {
    execFileSync(command, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const haveProm = installed('prometheus') && installed('promtool');

/** Counter samples every 30 s over the last 30 minutes, rising at the given rates; labels as KubeVirt sets them. */
function openMetrics(end: number): string {
  const start = end - 1800;
  const vms: [string, string, { cpu: number; rx: number; tx: number; rd: number; wr: number }][] = [
    ['cs101', 'vm-a', { cpu: 0.5, rx: 1000, tx: 500, rd: 2048, wr: 2048 }],
    ['bio200', 'vm-b', { cpu: 0.01, rx: 0, tx: 0, rd: 0, wr: 0 }],
    ['cs101', 'a.b', { cpu: 1, rx: 1, tx: 1, rd: 1, wr: 1 }],
    ['cs101', 'axb', { cpu: 7, rx: 7, tx: 7, rd: 7, wr: 7 }],
    ['cs101', 'x|y"z', { cpu: 2, rx: 2, tx: 2, rd: 2, wr: 2 }],
  ];
  const families: [string, string, (r: (typeof vms)[number][2]) => number][] = [
    ['kubevirt_vmi_cpu_usage_seconds', '', (r) => r.cpu],
    ['kubevirt_vmi_network_receive_bytes', ',interface="default"', (r) => r.rx],
    ['kubevirt_vmi_network_transmit_bytes', ',interface="default"', (r) => r.tx],
    ['kubevirt_vmi_storage_read_traffic_bytes', ',drive="rootdisk"', (r) => r.rd],
    ['kubevirt_vmi_storage_write_traffic_bytes', ',drive="rootdisk"', (r) => r.wr],
  ];
  const lines: string[] = [];
  for (const [family, extra, rate] of families) {
    lines.push(`# TYPE ${family} counter`);
    for (const [ns, name, r] of vms) {
      const labels = `namespace="${ns}",name="${name.replace(/["\\]/g, '\\$&')}",node="node-1"${extra}`;
      for (let t = start; t <= end; t += 30) lines.push(`${family}_total{${labels}} ${rate(r) * (t - start)} ${t}`);
    }
  }
  lines.push('# TYPE kubevirt_vmi_last_api_connection_timestamp_seconds gauge');
  // Two virt-api replicas, each with the last connection it served.
  for (const [pod, at] of [
    ['virt-api-1', end - 900],
    ['virt-api-2', end - 600],
  ] as const) {
    for (let t = start; t <= end; t += 30) {
      lines.push(`kubevirt_vmi_last_api_connection_timestamp_seconds{namespace="cs101",vmi="vm-a",pod="${pod}"} ${at} ${t}`);
    }
  }
  lines.push('# EOF');
  return `${lines.join('\n')}\n`;
}

describe.skipIf(!haveProm)('VM usage from a real Prometheus', () => {
  let proc: Proc | undefined;
  let url = '';
  const end = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-prometheus-'));
    writeFileSync(join(dir, 'series.om'), openMetrics(end));
    writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'series.om'), join(dir, 'data')], { stdio: 'ignore' });
    const port = await closedPort();
    url = `http://127.0.0.1:${port}`;
    proc = spawnProc(
      'prometheus',
      'prometheus',
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      {},
    );
    await vi.waitFor(
      async () => {
        const res = await fetch(`${url}/-/ready`);
        if (!res.ok) throw new Error(`not ready: ${res.status}`);
      },
      { timeout: 30_000, interval: 200 },
    );
  }, 40_000);

  afterAll(async () => {
    await proc?.stop();
  });

  it('reads the figures of several VMs, their last console connection, and unavailable for an unknown one', async () => {
    const usage = createPrometheusUsage({ baseUrl: url, auth: { kind: 'none' }, clock: { now: () => new Date((end - 60) * 1000) } });
    const result = await usage.usage(
      [
        { tenant: 'cs101', name: 'vm-a' },
        { tenant: 'bio200', name: 'vm-b' },
        { tenant: 'cs101', name: 'a.b' },
        { tenant: 'cs101', name: 'x|y"z' },
        { tenant: 'cs101', name: 'unknown' },
      ],
      300,
    );
    const rounded = result.map((r) =>
      r.usage === 'unavailable'
        ? 'unavailable'
        : {
            cpu: Number(r.usage.cpuCores.toFixed(6)),
            network: Number(r.usage.networkBytesPerSecond.toFixed(3)),
            disk: Number(r.usage.diskBytesPerSecond.toFixed(3)),
            console: r.usage.lastConsoleAt?.toISOString(),
          },
    );
    expect(rounded).toEqual([
      { cpu: 0.5, network: 1500, disk: 4096, console: new Date((end - 600) * 1000).toISOString() },
      { cpu: 0.01, network: 0, disk: 0, console: undefined },
      { cpu: 1, network: 2, disk: 2, console: undefined },
      { cpu: 2, network: 4, disk: 4, console: undefined },
      'unavailable',
    ]);
  });
});
