import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { webhookSecretObject } from '../../src/adapters/kubernetes/webhook-objects.js';
import { migrateWebhookSecrets } from '../../src/adapters/kubernetes/webhook-migration.js';
import { createKubeWebhookRepository } from '../../src/adapters/kubernetes/webhook-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { newWebhookSecret } from '../../src/domain/webhooks/signing.js';
import type { NewWebhookRecord } from '../../src/domain/webhooks/webhook.js';
import { recordingLogger } from '../kubernetes/support/kube-fixture.js';

const CONTROL = 'labplane-system';
let emu: KubeEmulator;

beforeAll(async () => {
  emu = await startKubeEmulator({ namespaces: [CONTROL, 'ta', 'tb'] });
});
afterAll(async () => {
  await emu?.close();
});

const hook = (tenant: string): NewWebhookRecord => ({
  id: crypto.randomUUID(),
  status: 'active',
  tenant,
  url: 'https://lms.example.edu/h',
  events: ['lab.ready'],
  createdAt: new Date().toISOString(),
  createdBy: 'olga',
  secret: newWebhookSecret(),
});

describe('moving first-wave webhook Secrets into the control namespace', () => {
  it('copies them labelled with their tenant (the repository then serves them), deletes originals only when asked, and is safe to run again', async () => {
    const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: emu.url }), logger: recordingLogger() });
    const a = hook('ta');
    const b = hook('tb');
    // First wave: the Secret sat in the tenant's namespace.
    for (const w of [a, b]) emu.store.create('secrets', webhookSecretObject(w, w.tenant) as never);
    emu.store.create('secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'unrelated', namespace: 'ta' }, data: { k: 'dg==' } });

    const first = await migrateWebhookSecrets(client, CONTROL, { deleteOriginals: false });
    expect([...first.found].sort()).toEqual([`ta/labplane-webhook-${a.id}`, `tb/labplane-webhook-${b.id}`].sort());
    expect(first).toMatchObject({ copied: 2, deleted: 0 });
    expect(emu.store.get('secrets', 'ta', `labplane-webhook-${a.id}`)).toBeDefined();

    const repo = createKubeWebhookRepository({ client, namespace: CONTROL, tenants: { get: async (t) => ({ id: t }) as never } });
    expect(await repo.start()).toBe(true);
    try {
      expect(await repo.getWithSecret('ta', a.id)).toEqual({ ...a, version: expect.any(String) });
      expect((await repo.list('tb')).map((w) => w.id)).toEqual([b.id]);
    } finally {
      await repo.close();
    }

    const second = await migrateWebhookSecrets(client, CONTROL, { deleteOriginals: true });
    expect(second).toMatchObject({ copied: 0, deleted: 2 });
    expect(emu.store.list('secrets', { namespace: 'ta' }).map((s) => s.metadata.name)).toEqual(['unrelated']);
    expect(await migrateWebhookSecrets(client, CONTROL, { deleteOriginals: true })).toEqual({ found: [], copied: 0, deleted: 0 });
  });
});
