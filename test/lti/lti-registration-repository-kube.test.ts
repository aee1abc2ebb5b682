import { afterAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import {
  createKubeLtiRegistrationRepository,
  ltiRegistrationName,
  ltiRegistrationObject,
} from '../../src/adapters/kubernetes/lti-registration-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { ltiRecord, ltiRegistrationRepositoryContract, LTI_TENANTS } from '../contracts/lti-registration-repository.contract.js';
import { rawClient, recordingLogger } from '../kubernetes/support/kube-fixture.js';
import { eventually } from '../webhooks/support.js';

const CONTROL = 'labplane-system';
const knownTenants = { get: async (t: string) => ((LTI_TENANTS as readonly string[]).includes(t) ? ({ id: t } as never) : undefined) };

const emulators: KubeEmulator[] = [];
afterAll(async () => {
  for (const e of emulators) await e.close();
});

async function kube() {
  const emulator = await startKubeEmulator({ namespaces: [CONTROL] });
  emulators.push(emulator);
  const raw = rawClient(emulator.url);
  const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: emulator.url }), logger: recordingLogger() });
  const repo = createKubeLtiRegistrationRepository({ client, namespace: CONTROL, tenants: knownTenants, watchRestartDelayMs: { min: 20, max: 200 } });
  expect(await repo.start()).toBe(true);
  return { emulator, raw, repo, close: () => repo.close() };
}

ltiRegistrationRepositoryContract('ConfigMaps over the emulator', async () => {
  const { raw, repo, close } = await kube();
  return {
    repo,
    async touch(r) {
      const path = `/api/v1/namespaces/${CONTROL}/configmaps/${ltiRegistrationName(r.issuer, r.clientId)}`;
      const current = (await raw.get(path)).body as { metadata: Record<string, unknown>; data: Record<string, string> };
      const res = await raw.put(path, { ...current, data: { ...current.data, displayName: 'changed by another replica' } });
      expect(res.status).toBe(200);
      await eventually(async () => (await repo.get(r.tenant, r.id))?.displayName === 'changed by another replica', 5_000, 'the watch');
    },
    close,
  };
});

describe('LTI registrations on Kubernetes', () => {
  it('are ConfigMaps in the control namespace named after (issuer, clientId), labelled with tenant and id; others’ writes arrive by the watch', async () => {
    const { emulator, raw, repo, close } = await kube();
    try {
      const r = ltiRecord('lb');
      await repo.create(r);
      const held = emulator.store.get('configmaps', CONTROL, ltiRegistrationName(r.issuer, r.clientId));
      expect(held?.metadata.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'labplane',
        'labplane.io/tenant': 'lb',
        'labplane.io/lti-registration': 'true',
        'labplane.io/lti-registration-id': r.id,
      });
      expect(held?.['data']).toMatchObject({ issuer: r.issuer, clientId: r.clientId, deploymentIds: JSON.stringify(r.deploymentIds) });
      // Written by another replica: seen through the watch; a ConfigMap that is not ours is ignored.
      const other = ltiRecord('la');
      expect((await raw.post(`/api/v1/namespaces/${CONTROL}/configmaps`, ltiRegistrationObject(other, CONTROL))).status).toBe(201);
      await raw.post(`/api/v1/namespaces/${CONTROL}/configmaps`, {
        ...ltiRegistrationObject(ltiRecord('la'), CONTROL),
        metadata: { name: 'not-ours', labels: { 'labplane.io/lti-registration': 'true', 'labplane.io/tenant': 'la' } },
      });
      await eventually(async () => (await repo.get('la', other.id)) !== undefined, 5_000, 'the watch');
      expect((await repo.list('la')).map((x) => x.id)).toEqual([other.id]);
      // Reads after sync cost the API server nothing.
      const before = emulator.requestCount({ method: 'GET' });
      await repo.list('la');
      await repo.findByClient(r.issuer, r.clientId);
      await repo.findByIssuer(r.issuer);
      await repo.get('lb', r.id);
      expect(emulator.requestCount({ method: 'GET' })).toBe(before);
    } finally {
      await close();
    }
  });

  it('two replicas racing to register the same pair: exactly one wins', async () => {
    const { emulator, repo, close } = await kube();
    const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: emulator.url }), logger: recordingLogger() });
    const second = createKubeLtiRegistrationRepository({ client, namespace: CONTROL, tenants: knownTenants });
    await second.start();
    try {
      const r = ltiRecord('la');
      const outcomes = await Promise.allSettled([repo.create(r), second.create({ ...ltiRecord('lb'), issuer: r.issuer, clientId: r.clientId })]);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      expect(emulator.store.list('configmaps', { namespace: CONTROL })).toHaveLength(1);
    } finally {
      await second.close();
      await close();
    }
  });
});
