import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { realEnv, startServer, writeKubeconfig, type Running } from './support.js';

/**
 * `npm start` against a cluster without the Lab CRD: it starts (installing the CRD later must not
 * need a restart), says so in one warning line, stays NOT ready until the CRD is installed, then
 * becomes ready; SIGTERM still ends it cleanly.
 */
let em: KubeEmulator;
let server: Running;
beforeAll(async () => {
  em = await startKubeEmulator({ uninstalledResources: ['labs.labplane.io'] });
  server = await startServer(realEnv(writeKubeconfig(em.url), { LOG_LEVEL: 'warn' }));
}, 90_000);
afterAll(async () => {
  await em?.close();
});

describe('started without the Lab CRD', () => {
  it('warns once, naming the CRD and the file to apply, and /readyz is 503 naming the Lab informer', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { details: { checks: Record<string, { ok: boolean; detail?: string }> } };
    expect(body.details, JSON.stringify(body)).toBeDefined();
    expect(body.details.checks['labs']?.detail).toContain('the labs informer has not synced since');
    const { stdout, stderr } = server.output();
    expect(stderr).toBe('');
    const warnings = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    // (only the warnings about the missing CRD are this test's subject)
    expect(warnings.map((w) => w.msg).filter((m) => m.includes('labs.labplane.io'))).toEqual([
      'starting NOT ready: the Kubernetes API server does not serve labs.labplane.io (its CustomResourceDefinition is not installed; apply it with `kubectl apply --server-side -f deploy/crds/labs.labplane.io.yaml`); /readyz answers 503 and requests that need them 503 CRD_NOT_INSTALLED until they are installed',
    ]);
  });

  it('becomes ready once the CRD is installed, and stops cleanly on SIGTERM', async () => {
    em.installResource('labs.labplane.io');
    // Real time: the Lab informer retries on its own back-off (at most 30 s apart).
    await vi.waitFor(async () => expect((await fetch(`${server.url}/readyz`)).status).toBe(200), { timeout: 45_000, interval: 250 });
    const exit = await server.stop();
    expect(exit.code).toBe(0);
  }, 60_000);
});
