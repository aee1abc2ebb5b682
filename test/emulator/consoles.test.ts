import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PLAIN_KUBEVIRT_PROTOCOL, VNC_HEIGHT, VNC_WIDTH } from '../../src/adapters/sim/kube-emulator/index.js';
import type { KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { openWebSocket, refusedUpgrade } from '../support/ws-bytes.js';
import type { Cluster } from './support.js';
import { createNamespace, startCluster } from './support.js';

const NS = 'cons';
const VMI = 'virtualmachineinstances.kubevirt.io';
const TOKEN = 'emulator-token';
let c: Cluster;

function vmi(name: string, phase: string): KubeObject {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: NS },
    spec: { domain: { devices: {} } },
    status: { phase, nodeName: 'aks-kubevirt-0000' },
  } as KubeObject;
}

const url = (name: string, sub: string) =>
  `${c.emu.url.replace(/^http/, 'ws')}/apis/subresources.kubevirt.io/v1/namespaces/${NS}/virtualmachineinstances/${name}/${sub}`;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  c = await startCluster({ access: { bearerToken: TOKEN } });
  await createNamespace(c, NS).catch(() => undefined);
  c.emu.store.create(VMI, vmi('web-1', 'Running'));
  c.emu.store.create(VMI, vmi('booting', 'Scheduling'));
});
afterAll(async () => {
  await c.emu.close();
});

describe('the VMI console subresource (serial, plain.kubevirt.io)', () => {
  test('negotiates plain.kubevirt.io, shows a login prompt and echoes what is typed', async () => {
    const { socket, reader } = await openWebSocket(url('web-1', 'console'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    expect(socket.protocol).toBe(PLAIN_KUBEVIRT_PROTOCOL);
    expect(await reader.readUntil('web-1 login: ')).toBe('\r\nweb-1 login: ');
    socket.send(Buffer.from('alice'));
    expect(await reader.readUntil('alice')).toBe('alice');
    socket.send(Buffer.from('\r'));
    expect(await reader.readUntil('login: ')).toBe('\r\nweb-1 login: ');
    c.emu.consoles.print(NS, 'web-1', 'kernel: hello\r\n');
    expect(await reader.readUntil('hello\r\n')).toBe('kernel: hello\r\n');
    expect(c.emu.consoles.connections(NS, 'web-1').console).toBe(1);
    socket.close();
    await reader.closedWith();
  });

  test('ends the connection when the VMI goes', async () => {
    c.emu.store.create(VMI, vmi('short', 'Running'));
    const { reader } = await openWebSocket(url('short', 'console'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    await reader.readUntil('login: ');
    c.emu.store.delete(VMI, NS, 'short');
    expect((await reader.closedWith()).code).toBe(1000);
  });
});

describe('refusals, as virt-api answers them', () => {
  test('a VMI that does not exist is 404 NotFound', async () => {
    const r = await refusedUpgrade(url('nope', 'vnc'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'virtualmachineinstance.kubevirt.io "nope" not found' });
  });

  test('a VMI that is not Running is 400 BadRequest', async () => {
    const r = await refusedUpgrade(url('booting', 'console'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    expect(r.status).toBe(400);
    expect(r.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', message: 'VMI is not running' });
  });

  test('without the bearer token it is 401, and another subresource path is 404', async () => {
    expect((await refusedUpgrade(url('web-1', 'vnc'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL] })).status).toBe(401);
    expect((await refusedUpgrade(url('web-1', 'serial'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth })).status).toBe(404);
  });

  test('a plain GET (no upgrade) is 400', async () => {
    const res = await fetch(url('web-1', 'console').replace(/^ws/, 'http'), { headers: auth });
    expect(res.status).toBe(400);
  });
});

describe('the VMI vnc subresource (RFB 3.8)', () => {
  test('handshakes RFB 3.8 with security None, and answers a full update request with a non-blank Raw rectangle', async () => {
    const { socket, reader } = await openWebSocket(url('web-1', 'vnc'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    expect((await reader.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    socket.send(Buffer.from('RFB 003.008\n', 'latin1'));
    expect([...(await reader.read(2))]).toEqual([1, 1]); // one security type: None
    socket.send(Buffer.from([1]));
    expect((await reader.read(4)).readUInt32BE(0)).toBe(0); // SecurityResult OK
    socket.send(Buffer.from([1])); // ClientInit, shared
    const init = await reader.read(24);
    expect([init.readUInt16BE(0), init.readUInt16BE(2)]).toEqual([VNC_WIDTH, VNC_HEIGHT]);
    expect([...init.subarray(4, 8)]).toEqual([32, 24, 0, 1]);
    const name = (await reader.read(init.readUInt32BE(20))).toString('utf8');
    expect(name).toBe(`${NS}/web-1`);

    // SetPixelFormat as noVNC sends it: 32 bpp, depth 24, little-endian, red at bit 0, blue at bit 16.
    const pf = Buffer.alloc(20);
    pf.writeUInt8(0, 0);
    Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16, 0, 0, 0]).copy(pf, 4);
    const encodings = Buffer.alloc(12);
    encodings.writeUInt8(2, 0);
    encodings.writeUInt16BE(2, 2);
    encodings.writeInt32BE(0, 4);
    encodings.writeInt32BE(-223, 8);
    const request = Buffer.from([3, 0, 0, 0, 0, 0, VNC_WIDTH >> 8, VNC_WIDTH & 0xff, VNC_HEIGHT >> 8, VNC_HEIGHT & 0xff]);
    // One frame holding three messages, cut anywhere: the server buffers.
    const all = Buffer.concat([pf, encodings, request]);
    socket.send(all.subarray(0, 7));
    socket.send(all.subarray(7));
    const head = await reader.read(16);
    expect(head.readUInt8(0)).toBe(0);
    expect(head.readUInt16BE(2)).toBe(1);
    expect([head.readUInt16BE(4), head.readUInt16BE(6), head.readUInt16BE(8), head.readUInt16BE(10)]).toEqual([0, 0, VNC_WIDTH, VNC_HEIGHT]);
    expect(head.readInt32BE(12)).toBe(0); // Raw
    const pixels = await reader.read(VNC_WIDTH * VNC_HEIGHT * 4);
    const colours = new Set<number>();
    for (let i = 0; i < pixels.length; i += 4) colours.add(pixels.readUInt32LE(i));
    // Background (16,42,80) in the client's format (red low), and text drawn over it.
    expect(colours.has(16 | (42 << 8) | (80 << 16))).toBe(true);
    expect(colours.size).toBeGreaterThan(1);

    // An incremental request waits for a change; a key press changes the display and answers it.
    socket.send(Buffer.from([3, 1, 0, 0, 0, 0, VNC_WIDTH >> 8, VNC_WIDTH & 0xff, VNC_HEIGHT >> 8, VNC_HEIGHT & 0xff]));
    await new Promise((r) => setTimeout(r, 100)); // real time is the subject: nothing may arrive unasked
    expect(reader.pending).toBe(0);
    socket.send(Buffer.from([4, 1, 0, 0, 0, 0, 0xff, 0x0d])); // KeyEvent down, Return
    socket.send(Buffer.from([5, 0, 0, 10, 0, 10])); // PointerEvent is accepted
    expect((await reader.read(16)).readUInt16BE(2)).toBe(1);
    await reader.read(VNC_WIDTH * VNC_HEIGHT * 4);
    socket.close();
  });

  test('an unknown client message ends the connection with a protocol error', async () => {
    const { socket, reader } = await openWebSocket(url('web-1', 'vnc'), { protocols: [PLAIN_KUBEVIRT_PROTOCOL], headers: auth });
    await reader.read(12);
    socket.send(Buffer.from('RFB 003.008\n', 'latin1'));
    await reader.read(2);
    socket.send(Buffer.from([1, 1]));
    await reader.read(4 + 24);
    await reader.read(`${NS}/web-1`.length);
    socket.send(Buffer.from([99]));
    expect((await reader.closedWith()).code).toBe(1002);
  });
});
