import { afterAll, describe, expect, it } from 'vitest';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { webhookSecretObject } from '../../src/adapters/kubernetes/webhook-objects.js';
import { createKubeWebhookRepository } from '../../src/adapters/kubernetes/webhook-repository.js';
import { createMemoryWebhookRepository } from '../../src/adapters/memory/webhook-repository.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { isDomainError } from '../../src/domain/shared/errors.js';
import { newWebhookSecret } from '../../src/domain/webhooks/signing.js';
import { toWebhook, type NewWebhookRecord } from '../../src/domain/webhooks/webhook.js';
import type { WebhookRepository } from '../../src/domain/webhooks/webhook-repository.js';
import { rawClient, recordingLogger } from '../kubernetes/support/kube-fixture.js';
import { eventually } from './support.js';

const TENANTS = ['wa', 'wb'];
const CONTROL = 'labplane-system';
const knownTenants = { get: async (t: string) => (TENANTS.includes(t) ? ({ id: t } as never) : undefined) };

function aWebhook(tenant = 'wa', over: Partial<NewWebhookRecord> = {}): NewWebhookRecord {
  return {
    id: crypto.randomUUID(),
    status: 'active',
    tenant,
    url: 'https://lms.example.edu/hooks',
    events: ['operation.succeeded', 'lab.ready'],
    description: 'Canvas',
    createdAt: new Date().toISOString(),
    createdBy: 'olga',
    secret: newWebhookSecret(),
    ...over,
  };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isDomainError(err) ? err.code : 'not a domain error';
  }
  return undefined;
}

function repositoryContract(name: string, make: () => Promise<{ repo: WebhookRepository; close(): Promise<void> }>): void {
  describe(`webhook repository (${name})`, () => {
    it('reads back what was created; only getWithSecret carries the secret', async () => {
      const { repo, close } = await make();
      try {
        const w = aWebhook();
        const stored = await repo.create(w);
        expect(stored).toEqual({ ...w, version: expect.any(String) });
        const { secret } = w;
        const view = toWebhook(stored);
        expect(view).not.toHaveProperty('secret');
        expect(await repo.get('wa', w.id)).toEqual(view);
        expect(await repo.list('wa')).toContainEqual(view);
        expect(await repo.getWithSecret('wa', w.id)).toEqual(stored);
        expect(JSON.stringify(await repo.list('wa'))).not.toContain(secret);
        expect(await repo.get('wb', w.id)).toBeUndefined();
        expect(await repo.list('wb')).toEqual([]);
      } finally {
        await close();
      }
    });

    it('update writes the change with a new version (status, rotation and failure fields round-trip, secrets only via getWithSecret); a stale ifMatch is VERSION_MISMATCH; no change writes nothing', async () => {
      const { repo, close } = await make();
      try {
        const w = aWebhook();
        const stored = await repo.create(w);
        const previous = w.secret;
        const secret = newWebhookSecret();
        const res = await repo.update(
          'wa',
          w.id,
          (cur) => {
            const { version: _v, description: _d, ...rest } = cur;
            return {
              ...rest,
              events: ['lab.ready'],
              secret,
              previousSecret: cur.secret,
              previousSecretExpiresAt: '2026-03-03T09:00:00.000Z',
              secretRotatedAt: '2026-03-02T09:00:00.000Z',
              failingSince: '2026-03-01T09:00:00.000Z',
              status: 'disabled',
              disabledAt: '2026-03-02T10:00:00.000Z',
              disabledReason: 'receiver-failing',
            };
          },
          stored.version,
        );
        expect(res?.changed).toBe(true);
        expect(res?.record.version).not.toBe(stored.version);
        const read = await repo.getWithSecret('wa', w.id);
        expect(read).toEqual(res?.record);
        expect(read).toMatchObject({
          secret,
          previousSecret: previous,
          status: 'disabled',
          disabledReason: 'receiver-failing',
          events: ['lab.ready'],
        });
        expect(read).not.toHaveProperty('description');
        const view = await repo.get('wa', w.id);
        expect(view).toMatchObject({
          status: 'disabled',
          failingSince: '2026-03-01T09:00:00.000Z',
          previousSecretExpiresAt: '2026-03-03T09:00:00.000Z',
        });
        expect(JSON.stringify([view, await repo.list('wa')])).not.toContain(secret);
        expect(JSON.stringify([view, await repo.list('wa')])).not.toContain(previous);

        expect(await codeOf(repo.update('wa', w.id, (cur) => cur, stored.version))).toBe('VERSION_MISMATCH');
        const same = await repo.update('wa', w.id, () => undefined);
        expect(same).toEqual({ record: read, changed: false });
        expect(await repo.update('wb', w.id, (cur) => cur)).toBeUndefined();
        expect(await repo.update('wa', crypto.randomUUID(), (cur) => cur)).toBeUndefined();
        // Without ifMatch a concurrent write makes it apply the change again to the newer record.
        const [x, y] = await Promise.all([
          repo.update('wa', w.id, (cur) => ({ ...cur, url: 'https://x.example.edu/' })),
          repo.update('wa', w.id, (cur) => ({ ...cur, events: ['vm.ready', 'lab.ready'] })),
        ]);
        expect(x?.changed && y?.changed).toBe(true);
        expect(await repo.get('wa', w.id)).toMatchObject({ url: 'https://x.example.edu/', events: ['vm.ready', 'lab.ready'] });
      } finally {
        await close();
      }
    });

    it('a second create of the same id is WEBHOOK_EXISTS; a tenant that does not exist is TENANT_NOT_FOUND', async () => {
      const { repo, close } = await make();
      try {
        const w = aWebhook();
        await repo.create(w);
        expect(await codeOf(repo.create({ ...w, url: 'https://other.example.edu/' }))).toBe('WEBHOOK_EXISTS');
        expect((await repo.get('wa', w.id))?.url).toBe(w.url);
        expect(await codeOf(repo.create(aWebhook('no-such-tenant')))).toBe('TENANT_NOT_FOUND');
      } finally {
        await close();
      }
    });

    it('delete says whether there was a webhook, and it is gone at once', async () => {
      const { repo, close } = await make();
      try {
        const w = aWebhook();
        await repo.create(w);
        expect(await repo.delete('wa', w.id)).toBe(true);
        expect(await repo.get('wa', w.id)).toBeUndefined();
        expect(await repo.list('wa')).toEqual([]);
        expect(await repo.delete('wa', w.id)).toBe(false);
      } finally {
        await close();
      }
    });

    it("a tenant cannot delete another tenant's webhook; deleteAll removes one tenant's webhooks only", async () => {
      const { repo, close } = await make();
      try {
        const a1 = aWebhook('wa');
        const a2 = aWebhook('wa');
        const b = aWebhook('wb');
        for (const w of [a1, a2, b]) await repo.create(w);
        expect(await repo.delete('wa', b.id)).toBe(false);
        expect(await repo.get('wb', b.id)).toBeDefined();
        expect(await repo.deleteAll('wa')).toBe(2);
        expect(await repo.list('wa')).toEqual([]);
        expect((await repo.list('wb')).map((w) => w.id)).toEqual([b.id]);
        expect(await repo.deleteAll('wa')).toBe(0);
      } finally {
        await close();
      }
    });
  });
}

repositoryContract('memory', async () => ({
  repo: createMemoryWebhookRepository({ tenantExists: (t) => TENANTS.includes(t) }),
  close: async () => undefined,
}));

const emulators: KubeEmulator[] = [];
afterAll(async () => {
  for (const e of emulators) await e.close();
});

async function kube() {
  const emulator = await startKubeEmulator({ namespaces: [CONTROL] });
  emulators.push(emulator);
  const raw = rawClient(emulator.url);
  for (const t of TENANTS) await raw.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: t } });
  const client = createKubeClient({ kubeConfig: loadKubeConfig({ server: emulator.url }), logger: recordingLogger() });
  const repo = createKubeWebhookRepository({ client, namespace: CONTROL, tenants: knownTenants, watchRestartDelayMs: { min: 20, max: 200 } });
  expect(await repo.start()).toBe(true);
  return { emulator, raw, repo, close: () => repo.close() };
}

repositoryContract('Kubernetes Secrets over the emulator', kube);

describe('webhook repository on Kubernetes', () => {
  it('sees webhook Secrets written by others in its namespace through the watch, ignores Secrets that are not ours or elsewhere', async () => {
    const { raw, repo, close } = await kube();
    try {
      const w = aWebhook('wb');
      expect((await raw.post(`/api/v1/namespaces/${CONTROL}/secrets`, webhookSecretObject(w, CONTROL))).status).toBe(201);
      const foreign = webhookSecretObject(aWebhook('wb'), CONTROL);
      await raw.post(`/api/v1/namespaces/${CONTROL}/secrets`, {
        ...foreign,
        metadata: { ...foreign.metadata, labels: { 'labplane.io/webhook': 'true' } },
      });
      // A first-wave Secret in the tenant's namespace is outside what the control plane may read.
      expect((await raw.post('/api/v1/namespaces/wb/secrets', webhookSecretObject(aWebhook('wb'), 'wb'))).status).toBe(201);
      await eventually(async () => (await repo.list('wb')).length === 1, 5_000, 'the watch to deliver the Secret');
      expect((await repo.getWithSecret('wb', w.id))?.secret).toBe(w.secret);
      expect(await repo.list('wa')).toEqual([]);
    } finally {
      await close();
    }
  });

  it("keeps every webhook Secret in the control namespace, labelled with its tenant; a tenant's namespace going takes none of them", async () => {
    const { emulator, raw, repo, close } = await kube();
    try {
      const w = aWebhook('wb');
      await repo.create(w);
      const held = emulator.store.get('secrets', CONTROL, `labplane-webhook-${w.id}`);
      expect(held?.metadata.labels).toMatchObject({ 'labplane.io/tenant': 'wb', 'labplane.io/webhook': 'true' });
      expect(emulator.store.list('secrets', { namespace: 'wb' })).toEqual([]);
      await raw.delete('/api/v1/namespaces/wb');
      await eventually(() => emulator.store.get('namespaces', undefined, 'wb') === undefined, 5_000, 'the namespace deletion');
      expect((await repo.get('wb', w.id))?.id).toBe(w.id);
    } finally {
      await close();
    }
  });

  it('once synced, reads cost the API server nothing; writes go to it', async () => {
    const { emulator, repo, close } = await kube();
    try {
      const before = emulator.requestCount({ method: 'GET' });
      for (let i = 0; i < 10; i++) await repo.list('wa');
      await repo.get('wa', crypto.randomUUID());
      expect(emulator.requestCount({ method: 'GET' })).toBe(before);
      const posts = emulator.requestCount({ method: 'POST' });
      await repo.create(aWebhook());
      expect(emulator.requestCount({ method: 'POST' })).toBe(posts + 1);
    } finally {
      await close();
    }
  });
});
