import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient, type KubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { reuseTlsConnections } from '../../src/adapters/kubernetes/dispatcher-reuse.js';
import { recordingLogger } from './support/kube-fixture.js';

/**
 * Requests to a TLS API server share connections. client-node 2.0.1 alone made a new connection
 * pool, so a TCP connection and a TLS handshake, for every call (see dispatcher-reuse.ts). A
 * loopback HTTPS server (the test certificate of test/azure/fixtures) counts its handshakes.
 */
const fixture = (name: string) => readFileSync(new URL(`../azure/fixtures/${name}`, import.meta.url), 'utf8');
const CERT = fixture('localhost-cert.pem');

let server: Server;
let handshakes = 0;
let requests = 0;
let url: string;
const dir = mkdtempSync(join(tmpdir(), 'lp-tls-reuse-'));

beforeAll(async () => {
  server = createServer({ key: fixture('localhost-key.pem'), cert: CERT }, (req, res) => {
    requests += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
  });
  server.on('secureConnection', () => (handshakes += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A kubeconfig that trusts the test certificate through a CA file, with a bearer token. */
function kubeconfig(caFile: string): string {
  const path = join(dir, 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${url}", certificate-authority: "${caFile}"}}]`,
      'users: [{name: u, user: {token: not-a-real-token}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
  return path;
}

const list = (client: KubeClient) => client.request({ what: 'list namespaces', write: false }, () => client.core.listNamespace());

// undici (8.12) itself opens a second connection on the second call to a new pool, then keeps to
// those (seen with a bare undici Agent and fetch too): "reused" is at most two handshakes here.
const ONE_POOL = 2;

describe('connections to a TLS API server', () => {
  it('are reused: calls made one after the other share a pool; calls at once take a connection each', async () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, CERT);
    const client = createKubeClient({ kubeConfig: loadKubeConfig({ kubeconfigPath: kubeconfig(caFile) }), logger: recordingLogger() });
    handshakes = 0;
    requests = 0;
    for (let i = 0; i < 20; i++) await list(client);
    expect(requests).toBe(20);
    expect(handshakes).toBeLessThanOrEqual(ONE_POOL);
    await Promise.all(Array.from({ length: 5 }, () => list(client)));
    expect(requests).toBe(25);
    expect(handshakes).toBeLessThanOrEqual(ONE_POOL + 5);
    const after = handshakes;
    for (let i = 0; i < 10; i++) await list(client);
    expect(handshakes).toBe(after);
  });

  it('a rotated CA file gets a pool of its own, read on the next call', async () => {
    const caFile = join(dir, 'rotating-ca.pem');
    writeFileSync(caFile, CERT);
    const client = createKubeClient({ kubeConfig: loadKubeConfig({ kubeconfigPath: kubeconfig(caFile) }), logger: recordingLogger() });
    handshakes = 0;
    for (let i = 0; i < 4; i++) await list(client);
    const before = handshakes;
    expect(before).toBeLessThanOrEqual(ONE_POOL);
    // A bundle with the certificate twice: other bytes, the same trust.
    writeFileSync(caFile, `${CERT}\n${CERT}`);
    for (let i = 0; i < 4; i++) await list(client);
    expect(handshakes - before).toBeGreaterThanOrEqual(1);
    expect(handshakes - before).toBeLessThanOrEqual(ONE_POOL);
  });
});

it('refuses a client-node without the method it wraps, rather than silently making a connection per call again', () => {
  expect(() => reuseTlsConnections({} as Parameters<typeof reuseTlsConnections>[0])).toThrow(/createDispatcher/);
});
