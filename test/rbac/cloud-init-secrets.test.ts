import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCloudInitSecrets, stagedCloudInitName } from '../../src/adapters/kubernetes/cloud-init-secrets.js';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { recordingLogger } from '../kubernetes/support/kube-fixture.js';

const CONTROL = 'lp-control';
const TENANT = 'ci-tenant';
let emu: KubeEmulator;
let secrets: ReturnType<typeof createCloudInitSecrets>;

beforeAll(async () => {
  emu = await startKubeEmulator({ namespaces: [CONTROL, TENANT], recordRequests: true });
  secrets = createCloudInitSecrets(createKubeClient({ kubeConfig: loadKubeConfig({ server: emu.url }), logger: recordingLogger() }), CONTROL);
});
afterAll(async () => {
  await emu?.close();
});

const text = (ns: string, name: string) => {
  const data = (emu.store.get('secrets', ns, name) as { data?: Record<string, string> } | undefined)?.data;
  return data === undefined ? undefined : Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
};
/** Verbs sent on Secrets of the tenant namespace. */
const tenantSecretVerbs = () =>
  new Set(
    emu
      .recordedRequests()
      .resource.filter((r) => r.resource === 'secrets' && r.namespace === TENANT)
      .map((r) => r.verb),
  );

describe('cloud-init Secrets without reading tenant Secrets', () => {
  it('stages in the control namespace, then creates the Secret owned by the VM over a stale one, and drops the staged copy', async () => {
    await secrets.stage(TENANT, 'web', '#cloud-config\nuser: new\n');
    expect(text(CONTROL, stagedCloudInitName(TENANT, 'web'))).toEqual({ userdata: '#cloud-config\nuser: new\n' });
    expect(emu.store.get('secrets', TENANT, 'web-cloudinit')).toBeUndefined();
    // A Secret left by an earlier attempt (or a VM of the same name being garbage-collected) is in the way.
    emu.store.create('secrets', {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-cloudinit', namespace: TENANT },
      data: { userdata: Buffer.from('stale').toString('base64') },
    });

    await secrets.place(TENANT, { name: 'web', uid: 'uid-web-1' });
    expect(text(TENANT, 'web-cloudinit')).toEqual({ userdata: '#cloud-config\nuser: new\n' });
    expect(emu.store.get('secrets', TENANT, 'web-cloudinit')?.metadata.ownerReferences).toEqual([
      { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'web', uid: 'uid-web-1', controller: false, blockOwnerDeletion: false },
    ]);
    expect(emu.store.get('secrets', CONTROL, stagedCloudInitName(TENANT, 'web'))).toBeUndefined();
    // A retry after success changes nothing.
    await secrets.place(TENANT, { name: 'web', uid: 'uid-web-1' });
    expect(text(TENANT, 'web-cloudinit')).toEqual({ userdata: '#cloud-config\nuser: new\n' });
    expect(tenantSecretVerbs()).toEqual(new Set(['create', 'delete']));
  });

  it('with a scrubbed version: placed with the token, then scrubbed (staged copy gone), a second scrub finds nothing', async () => {
    await secrets.stage(TENANT, 'arc', 'token=abc', 'token=<scrubbed>');
    await secrets.place(TENANT, { name: 'arc', uid: 'uid-arc' });
    expect(text(TENANT, 'arc-cloudinit')).toEqual({ userdata: 'token=abc' });
    expect(text(CONTROL, stagedCloudInitName(TENANT, 'arc'))).toEqual({ userdata: 'token=abc', 'userdata-scrubbed': 'token=<scrubbed>' });
    expect(await secrets.scrub(TENANT, { name: 'arc', uid: 'uid-arc' })).toBe(true);
    expect(text(TENANT, 'arc-cloudinit')).toEqual({ userdata: 'token=<scrubbed>' });
    expect(emu.store.get('secrets', TENANT, 'arc-cloudinit')?.metadata.ownerReferences?.[0]?.uid).toBe('uid-arc');
    expect(emu.store.get('secrets', CONTROL, stagedCloudInitName(TENANT, 'arc'))).toBeUndefined();
    expect(await secrets.scrub(TENANT, { name: 'arc', uid: 'uid-arc' })).toBe(false);
    expect(tenantSecretVerbs()).toEqual(new Set(['create', 'delete']));
  });

  it('staging again over a leftover replaces it without an update', async () => {
    await secrets.stage(TENANT, 'again', 'old');
    await secrets.stage(TENANT, 'again', 'new');
    expect(text(CONTROL, stagedCloudInitName(TENANT, 'again'))).toEqual({ userdata: 'new' });
    expect(emu.recordedRequests().resource.filter((r) => r.resource === 'secrets' && r.verb === 'update')).toEqual([]);
  });

  it('remove deletes the Secret and anything staged; absent ones are fine', async () => {
    await secrets.stage(TENANT, 'gone', 'x', 'y');
    await secrets.place(TENANT, { name: 'gone', uid: 'uid-gone' });
    await secrets.remove(TENANT, 'gone');
    expect(emu.store.get('secrets', TENANT, 'gone-cloudinit')).toBeUndefined();
    expect(emu.store.get('secrets', CONTROL, stagedCloudInitName(TENANT, 'gone'))).toBeUndefined();
    await expect(secrets.remove(TENANT, 'gone')).resolves.toBeUndefined();
  });
});
