import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { REFUSED_PORT } from '../support/refused-port.js';
import { realEnv, runEntry, writeKubeconfig, type Exit } from './support.js';

/**
 * The real entry points (`node --import tsx src/main/server.ts`, and worker.ts) started against
 * loopback servers this test controls: each failure to start is one line on stderr naming what
 * failed and what to do, and exit code 1 (never Node's 13 for an unsettled top-level await).
 * Each child takes seconds to load its modules on a busy machine, hence the long test timeouts.
 */
const SLOW = 90_000;

function oneLine(exit: Exit, prefix = 'labplane: '): string {
  expect(exit.signal).toBeNull();
  expect(exit.code).toBe(1);
  const lines = exit.stderr.split('\n').filter((l) => l !== '');
  expect(lines, exit.stderr).toHaveLength(1);
  const [line = ''] = lines;
  expect(line.startsWith(prefix), line).toBe(true);
  expect(line).not.toMatch(/unsettled top-level await|Warning:|at .*\.ts:\d+/);
  return line;
}

let em: KubeEmulator;
let dead: string;
/** Accepts connections and never answers (a hung API server or a black-holing proxy). */
let silent: Server;
const held: Socket[] = [];
beforeAll(async () => {
  silent = createServer((socket) => void held.push(socket));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  em = await startKubeEmulator({ access: { bearerToken: 'the-right-token', forbidden: ['labs.labplane.io', 'virtualmachines.kubevirt.io'] } });
  dead = `https://127.0.0.1:${REFUSED_PORT}`;
});
afterAll(async () => {
  await em?.close();
  for (const s of held) s.destroy();
  silent?.close();
});

describe.concurrent('a failure to start is one line and exit code 1', () => {
  it('API server unreachable (server): names it, its URL and the cause', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('server', realEnv(writeKubeconfig(dead))));
    expect(line).toBe(`labplane: cannot reach the Kubernetes API server at ${dead} (ECONNREFUSED): check KUBECONFIG / the cluster`);
  });

  it('API server unreachable (worker): the same line', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('worker', realEnv(writeKubeconfig(dead))), 'labplane worker: ');
    expect(line).toBe(`labplane worker: cannot reach the Kubernetes API server at ${dead} (ECONNREFUSED): check KUBECONFIG / the cluster`);
  });

  it('API server that never answers: bounded by KUBE_TIMEOUT_MS, then the same kind of line', { timeout: SLOW }, async () => {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const line = oneLine(await runEntry('server', realEnv(writeKubeconfig(url), { KUBE_TIMEOUT_MS: '500' })));
    expect(line).toBe(`labplane: cannot reach the Kubernetes API server at ${url} (no answer within 500 ms): check KUBECONFIG / the cluster`);
  });

  it('credentials refused (401): says so and where the credentials come from', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('server', realEnv(writeKubeconfig(em.url, 'a-wrong-token'))));
    expect(line).toContain(`the Kubernetes API server at ${em.url} refused our credentials (401 Unauthorized)`);
    expect(line).toContain('KUBECONFIG');
    expect(line).not.toContain('a-wrong-token');
  });

  it('access denied (403): names every resource it may not list and what to grant', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('worker', realEnv(writeKubeconfig(em.url, 'the-right-token'))), 'labplane worker: ');
    expect(line).toContain('denied access (403 Forbidden: ');
    expect(line).toContain('cannot list resource');
    expect(line).toContain('grant list and watch on virtualmachines.kubevirt.io, labs.labplane.io across all namespaces');
  });

  it('Redis unreachable: names Redis and the URL without its password', { timeout: SLOW }, async () => {
    const port = REFUSED_PORT;
    const line = oneLine(
      await runEntry('server', realEnv(writeKubeconfig(em.url, 'the-right-token'), { REDIS_URL: `redis://lab:s3cret-pw@127.0.0.1:${port}/2` })),
    );
    expect(line).toBe(`labplane: cannot reach Redis at redis://lab@127.0.0.1:${port}/2 (ECONNREFUSED): check REDIS_URL and that Redis runs`);
  });

  it('a configuration error exits 1 too', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('server', { PORT: 'eighty' }));
    expect(line).toBe("labplane: configuration error: PORT: expected a port number 0-65535, got 'eighty'");
  });

  it('incomplete Azure settings name every missing variable', { timeout: SLOW }, async () => {
    const line = oneLine(await runEntry('server', { AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000', AZURE_LOCATION: 'westeurope' }));
    expect(line).toMatch(/^labplane: configuration error: AZURE_RESOURCE_GROUP: expected to be set as well \(missing too: AZURE_TENANT_ID\)/);
    expect(line).toContain('AZURE_SUBSCRIPTION_ID, AZURE_LOCATION are set');
  });
});
