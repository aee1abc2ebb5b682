import type { AddressInfo } from 'node:net';
import { setImmediate as tick } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { openWebSocket } from '../support/ws-bytes.js';
import { emulatorOf, restClient, vmBody } from './support.js';

const HIGH = 64 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x41);

let t: TestApp;
let rest: ReturnType<typeof restClient>;
let base: string;
let admin: string;
let tenant: string;

beforeAll(async () => {
  t = await startTestApp({}, { consoleTuning: { highWaterBytes: HIGH } });
  base = `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  rest = restClient(t);
  admin = await t.bearer({ sub: 'admin-bp', roles: ['platform-admin'] });
  tenant = await rest.createTenant(admin);
  await rest.createVm(admin, tenant, vmBody('chatty'));
  await eventually(async () => (await rest.vm(admin, tenant, 'chatty')).body.state === 'Running', 60_000, 'VM running');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('console backpressure', () => {
  it('a browser that stops reading stops the proxy reading the VM: what the proxy holds stays bounded, nothing is lost', async ({ annotate }) => {
    const res = await rest.api().post(`/v1/tenants/${tenant}/vms/chatty/console`).set('authorization', admin).send({ type: 'serial' });
    expect(res.status).toBe(201);
    const { socket, reader } = await openWebSocket(`${base}/v1/console/${res.body.ticket as string}`);
    await reader.readUntil('chatty login: ');
    socket.pause(); // the browser tab stops reading
    const emu = emulatorOf(t);
    let printed = 0;
    let maxHeld = 0;
    let queuedAtGuest = 0;
    // The guest prints until its own queue shows that nobody reads it (or far past what a proxy
    // without backpressure would have swallowed).
    while (queuedAtGuest < 8 * 1024 * 1024 && printed < 256 * 1024 * 1024) {
      queuedAtGuest = emu.consoles.print(tenant, 'chatty', CHUNK);
      printed += CHUNK.length;
      for (const s of t.deps.console.sessions.list()) maxHeld = Math.max(maxHeld, s.pending().toClient);
      await tick();
    }
    expect(queuedAtGuest, 'the guest side saw its output back up').toBeGreaterThanOrEqual(8 * 1024 * 1024);
    // Held by the proxy: at most the bound plus the message that crossed it.
    expect(maxHeld).toBeLessThanOrEqual(HIGH + CHUNK.length);
    // What left the guest at all is the bound, the kernel's socket buffers and the guest's queue: far below 256 MiB.
    expect(printed).toBeLessThan(64 * 1024 * 1024);
    await annotate(`guest printed ${printed} bytes before its queue reached ${queuedAtGuest}; the proxy held at most ${maxHeld}`);

    socket.resume(); // reading again: everything arrives, in order
    const all = await reader.read(printed, 120_000);
    expect(all.every((b) => b === 0x41)).toBe(true);
    socket.close();
    await reader.closedWith();
  }, 180_000);
});
