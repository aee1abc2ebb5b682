import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHttpWebhookSender } from '../../src/adapters/net/webhook-sender.js';
import { DeliveryTransportError } from '../../src/domain/webhooks/delivery.js';
import { loadConfig } from '../../src/main/config.js';
import { configError } from '../support/config-error.js';
import { startReceiver } from './support.js';

describe('webhook configuration', () => {
  it('reads SIM_WEBHOOK_ROUTES as host=http://127.0.0.1:port entries in the embedded default', () => {
    const c = loadConfig({ SIM_WEBHOOK_ROUTES: 'lms.example.edu=http://127.0.0.1:9911, Moodle.Example.org=http://localhost:9912/' });
    expect(c.webhooks.simRoutes).toEqual([
      { host: 'lms.example.edu', target: 'http://127.0.0.1:9911' },
      { host: 'moodle.example.org', target: 'http://localhost:9912' },
    ]);
    expect(loadConfig({}).webhooks).toEqual({
      httpAllowedHosts: [],
      simRoutes: [],
      outboxGraceMs: 10_000,
      disableAfterMs: 72 * 3_600_000,
      secretOverlapMs: 24 * 3_600_000,
    });
  });

  it('reads WEBHOOK_DISABLE_AFTER_HOURS (1-8760) and WEBHOOK_SECRET_OVERLAP_HOURS (0-168) and refuses what is out of range', () => {
    const c = loadConfig({ WEBHOOK_DISABLE_AFTER_HOURS: '6', WEBHOOK_SECRET_OVERLAP_HOURS: '0' }).webhooks;
    expect(c.disableAfterMs).toBe(6 * 3_600_000);
    expect(c.secretOverlapMs).toBe(0);
    for (const v of ['0', '8761', 'three days']) expect(configError({ WEBHOOK_DISABLE_AFTER_HOURS: v }).setting).toBe('WEBHOOK_DISABLE_AFTER_HOURS');
    for (const v of ['-1', '169']) expect(configError({ WEBHOOK_SECRET_OVERLAP_HOURS: v }).setting).toBe('WEBHOOK_SECRET_OVERLAP_HOURS');
  });

  it.each([
    'lms.example.edu',
    'lms.example.edu=https://127.0.0.1:9911',
    'lms.example.edu=http://10.0.0.1:80',
    'lms=http://127.0.0.1:9911',
    'lms.example.edu=http://127.0.0.1:9911/path',
  ])('refuses the route %s', (entry) => {
    expect(configError({ SIM_WEBHOOK_ROUTES: entry }).setting).toBe('SIM_WEBHOOK_ROUTES');
  });

  it('refuses SIM_WEBHOOK_ROUTES with a real cluster', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-wh-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, 'apiVersion: v1\nkind: Config\n');
    const real = {
      KUBECONFIG: path,
      REDIS_URL: 'redis://127.0.0.1:6379',
      AUTH_TENANT_IDS: '11111111-1111-1111-1111-111111111111',
      AUTH_AUDIENCES: 'api://labplane',
    };
    expect(loadConfig(real).webhooks.simRoutes).toEqual([]);
    expect(configError({ ...real, SIM_WEBHOOK_ROUTES: 'lms.example.edu=http://127.0.0.1:9911' }).setting).toBe('SIM_WEBHOOK_ROUTES');
  });

  it('reads WEBHOOK_HTTP_ALLOWED_HOSTS (lower-cased) and refuses entries that are not hosts', () => {
    expect(loadConfig({ WEBHOOK_HTTP_ALLOWED_HOSTS: 'Hooks.Example.EDU, [fd00::1]' }).webhooks.httpAllowedHosts).toEqual([
      'hooks.example.edu',
      '[fd00::1]',
    ]);
    expect(configError({ WEBHOOK_HTTP_ALLOWED_HOSTS: 'http://hooks.example.edu' }).setting).toBe('WEBHOOK_HTTP_ALLOWED_HOSTS');
  });
});

describe('the real webhook sender', () => {
  const fixtures = resolve(process.cwd(), 'test/azure/fixtures');
  const cert = readFileSync(join(fixtures, 'localhost-cert.pem'));
  const key = readFileSync(join(fixtures, 'localhost-key.pem'));

  it('connects only to the vetted address (no DNS query), keeping the Host header of the URL', async () => {
    const receiver = await startReceiver(() => 202);
    try {
      const sender = createHttpWebhookSender();
      // The name does not resolve anywhere: only the pinned address can be used.
      const url = new URL(`http://hooks.invalid-but-pinned.example:${receiver.port}/in?x=1`);
      const res = await sender.send({
        url,
        addresses: ['127.0.0.1'],
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
        timeoutMs: 2_000,
      });
      expect(res.status).toBe(202);
      expect(receiver.received[0]).toMatchObject({ method: 'POST', path: '/in?x=1', body: '{"a":1}' });
      expect(receiver.received[0]?.headers['host']).toBe(`hooks.invalid-but-pinned.example:${receiver.port}`);
    } finally {
      await receiver.close();
    }
  });

  it('over https, checks the certificate against the URL host (TLS server name), not the pinned address', async () => {
    const server = https.createServer({ cert, key }, (_req, res) => {
      res.writeHead(200);
      res.end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      const sender = createHttpWebhookSender({ ca: cert });
      const ok = await sender.send({
        url: new URL(`https://localhost:${port}/`),
        addresses: ['127.0.0.1'],
        headers: {},
        body: '{}',
        timeoutMs: 2_000,
      });
      expect(ok.status).toBe(200);
      const wrongName = sender.send({
        url: new URL(`https://hooks.example.edu:${port}/`),
        addresses: ['127.0.0.1'],
        headers: {},
        body: '{}',
        timeoutMs: 2_000,
      });
      await expect(wrongName).rejects.toThrow(DeliveryTransportError);
      await expect(wrongName).rejects.toThrow(/TLS handshake failed/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('gives up on a receiver that does not answer within the timeout', async () => {
    const silentServer = http.createServer(() => undefined);
    silentServer.listen(0, '127.0.0.1');
    await once(silentServer, 'listening');
    const port = (silentServer.address() as AddressInfo).port;
    try {
      const sender = createHttpWebhookSender();
      await expect(
        sender.send({ url: new URL(`http://hooks.example.edu:${port}/`), addresses: ['127.0.0.1'], headers: {}, body: '{}', timeoutMs: 200 }),
      ).rejects.toThrow(/^no answer within 200 ms$/);
    } finally {
      silentServer.closeAllConnections();
      silentServer.close();
    }
  });

  it('reports no answer as a transport error with a safe reason', async () => {
    const receiver = await startReceiver();
    const port = receiver.port;
    await receiver.close();
    const sender = createHttpWebhookSender();
    await expect(
      sender.send({
        url: new URL(`http://hooks.example.edu:${port}/?token=s3cr3t`),
        addresses: ['127.0.0.1'],
        headers: {},
        body: '{}',
        timeoutMs: 2_000,
      }),
    ).rejects.toThrow(/^the connection was refused$/);
  });
});
