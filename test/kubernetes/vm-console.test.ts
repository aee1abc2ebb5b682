import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubeConsoleDialer, PLAIN_KUBEVIRT_PROTOCOL } from '../../src/adapters/kubernetes/vm-console.js';
import type { KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { ByteReader } from '../support/ws-bytes.js';
import type { Cluster } from '../emulator/support.js';
import { kubeConfigFor, startCluster } from '../emulator/support.js';

const NS = 'dial';
const VMI = 'virtualmachineinstances.kubevirt.io';
let c: Cluster;

function vmi(name: string, phase: string): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: NS },
    spec: { domain: { devices: {} } },
    status: { phase },
  } as KubeObject;
}

beforeAll(async () => {
  // The kubeconfig's user carries the bearer token `sim` (kubeConfigFor): the emulator demands it.
  c = await startCluster({ access: { bearerToken: 'sim' } });
  c.emu.store.create(VMI, vmi('up', 'Running'));
  c.emu.store.create(VMI, vmi('booting', 'Scheduling'));
});
afterAll(async () => {
  await c.emu.close();
});

describe('the console dialer (virt-api vnc/console with the control plane’s kubeconfig)', () => {
  it('opens the serial console with the kubeconfig’s credentials and plain.kubevirt.io, returned paused until read', async () => {
    const dial = createKubeConsoleDialer({ kubeConfig: c.kc, connectTimeoutMs: 10_000 });
    const socket = await dial(NS, 'up', 'serial');
    expect(socket.protocol).toBe(PLAIN_KUBEVIRT_PROTOCOL);
    expect(socket.isPaused).toBe(true);
    const reader = new ByteReader(socket);
    socket.resume();
    expect(await reader.readUntil('up login: ')).toBe('\r\nup login: ');
    socket.close();
    await reader.closedWith();
    const vnc = await dial(NS, 'up', 'vnc');
    const rfb = new ByteReader(vnc);
    vnc.resume();
    expect((await rfb.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    vnc.close();
  });

  it('a VMI absent or not running is 409 ACTION_NOT_ALLOWED; refused credentials are 503 KUBERNETES_UNAVAILABLE', async () => {
    const dial = createKubeConsoleDialer({ kubeConfig: c.kc, connectTimeoutMs: 10_000 });
    await expect(dial(NS, 'gone', 'vnc')).rejects.toMatchObject({ code: 'ACTION_NOT_ALLOWED', details: { state: 'Stopped' } });
    await expect(dial(NS, 'booting', 'serial')).rejects.toMatchObject({ code: 'ACTION_NOT_ALLOWED' });
    const wrong = kubeConfigFor(c.emu.url);
    wrong.users[0] = { ...wrong.users[0], name: 'sim', token: 'not-the-token' } as (typeof wrong.users)[0];
    const refused = createKubeConsoleDialer({ kubeConfig: wrong, connectTimeoutMs: 10_000 });
    await expect(refused(NS, 'up', 'serial')).rejects.toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
  });
});
