import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/domain/shared/ids.js';
import { eventually } from '../support/eventually.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { openWebSocket, refusedUpgrade } from '../support/ws-bytes.js';
import { emulatorOf, expectProblem, restClient, vmBody } from './support.js';
import { labBody, labClient, person, personId } from '../labs/support.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';

/** Real time plus what the test adds: tickets expire and sessions idle without waiting. */
const skew = { ms: 0 };
const clock: Clock = { now: () => new Date(Date.now() + skew.ms) };

let t: TestApp;
let rest: ReturnType<typeof restClient>;
let base: string;
let admin: string;
let olga: string;
let tenant: string;
let other: string;
let student: string;
let neighbour: string;

async function ticket(auth: string, tn: string, vm: string, type: 'vnc' | 'serial') {
  return rest.api().post(`/v1/tenants/${tn}/vms/${vm}/console`).set('authorization', auth).send({ type });
}

async function issued(auth: string, tn: string, vm: string, type: 'vnc' | 'serial'): Promise<{ ticket: string; url: string; websocketPath: string }> {
  const res = await ticket(auth, tn, vm, type);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { ticket: string; url: string; websocketPath: string };
}

const socketUrl = (tk: string) => `${base.replace(/^http/, 'ws')}/v1/console/${tk}`;

beforeAll(async () => {
  t = await startTestApp({ CONSOLES_PER_VM: '2', CONSOLE_IDLE_TIMEOUT_MS: '60000' }, { consoleClock: clock, consoleTuning: { checkEveryMs: 25 } });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  rest = restClient(t);
  admin = await t.bearer({ sub: 'admin-console', roles: ['platform-admin'] });
  tenant = await rest.createTenant(admin);
  other = await rest.createTenant(admin);
  olga = await t.bearer({ sub: 'olga', tenants: { [tenant]: 'owner' } });
  student = await t.bearer({ sub: 'stu-1', tenants: { [tenant]: 'member' } });
  neighbour = await t.bearer({ sub: 'stu-2', tenants: { [tenant]: 'member' } });
  await rest.createVm(admin, tenant, vmBody('web', { owner: 'stu-1' }));
  await rest.createVm(admin, tenant, vmBody('halted', { owner: 'stu-1', running: false }));
  await rest.createVm(admin, other, vmBody('theirs'));
  await eventually(async () => (await rest.vm(admin, tenant, 'web')).body.state === 'Running', 60_000, 'VM web running');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('console tickets: who may have one', () => {
  it('a tenant owner gets a single-use ticket for a running VM, with the page and websocket to open', async () => {
    const res = await ticket(olga, tenant, 'web', 'serial');
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.body as { ticket: string; type: string; expiresAt: string; url: string; websocketPath: string };
    expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.type).toBe('serial');
    expect(body.url).toBe(`/console/serial#ticket=${body.ticket}`);
    expect(body.websocketPath).toBe(`/v1/console/${body.ticket}`);
    const left = Date.parse(body.expiresAt) - clock.now().getTime();
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(60_000);
  });

  it('the VM owner (a member) gets one; a student on someone else’s VM is 404, as is another tenant’s VM', async () => {
    expect((await ticket(student, tenant, 'web', 'vnc')).status).toBe(201);
    expectProblem(await ticket(neighbour, tenant, 'web', 'vnc'), 404, 'VM_NOT_FOUND');
    // The owner of another tenant, asking for this tenant's VM; the student, for the other tenant's.
    const otto = await t.bearer({ sub: 'otto', tenants: { [other]: 'owner' } });
    expectProblem(await ticket(otto, tenant, 'web', 'vnc'), 404, 'TENANT_NOT_FOUND');
    expectProblem(await ticket(student, other, 'theirs', 'vnc'), 404, 'TENANT_NOT_FOUND');
    expectProblem(await ticket(olga, tenant, 'nope', 'vnc'), 404, 'VM_NOT_FOUND');
  });

  it('an integration is 403, an anonymous caller 401, a bad type 400', async () => {
    const integration = await t.bearer({ sub: 'lms', roles: ['vms.manage'], tenants: { [tenant]: 'member' } });
    expectProblem(await ticket(integration, tenant, 'web', 'vnc'), 403, 'FORBIDDEN');
    const anon = await rest.api().post(`/v1/tenants/${tenant}/vms/web/console`).send({ type: 'vnc' });
    expectProblem(anon, 401, 'UNAUTHENTICATED');
    expectProblem(
      await rest.api().post(`/v1/tenants/${tenant}/vms/web/console`).set('authorization', olga).send({ type: 'rdp' }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('a VM that is not running has no console: 409 ACTION_NOT_ALLOWED with its state', async () => {
    const res = await ticket(olga, tenant, 'halted', 'serial');
    expectProblem(res, 409, 'ACTION_NOT_ALLOWED');
    expect(res.body.details).toEqual({ state: 'Stopped' });
  });

  it('an instructor of the VM’s lab may open a student’s console; an instructor of another lab may not', async () => {
    const labs = labClient(t);
    const instructor = { id: personId(901), email: 'inst@uni.example', displayName: 'Instructor' };
    const stranger = { id: personId(902), email: 'other@uni.example', displayName: 'Other instructor' };
    await labs.createLab(olga, tenant, labBody('course', { instructors: [instructor], students: [person(1)] }));
    await labs.createLab(olga, tenant, labBody('elsewhere', { instructors: [stranger] }));
    const vm = studentVmName('course', personId(1));
    await eventually(async () => (await rest.vm(admin, tenant, vm)).body.state === 'Running', 60_000, 'student VM running');
    const asInstructor = await t.bearer({ sub: instructor.id, tenants: { [tenant]: 'member' } });
    const asStranger = await t.bearer({ sub: stranger.id, tenants: { [tenant]: 'member' } });
    expect((await ticket(asInstructor, tenant, vm, 'serial')).status).toBe(201);
    expectProblem(await ticket(asStranger, tenant, vm, 'serial'), 404, 'VM_NOT_FOUND');
  }, 120_000);

  it('GraphQL createConsoleTicket issues the same ticket, and refuses a neighbour’s VM as 404', async () => {
    const query = `mutation($t: ID!, $vm: ID!) { createConsoleTicket(tenant: $t, vm: $vm, type: serial) { ticket type url websocketPath expiresAt } }`;
    const ok = await rest
      .api()
      .post('/graphql')
      .set('authorization', student)
      .send({ query, variables: { t: tenant, vm: 'web' } });
    expect(ok.body.errors).toBeUndefined();
    expect(ok.body.data.createConsoleTicket).toMatchObject({ type: 'serial', url: expect.stringMatching(/^\/console\/serial#ticket=/) });
    const no = await rest
      .api()
      .post('/graphql')
      .set('authorization', neighbour)
      .send({ query, variables: { t: tenant, vm: 'web' } });
    expect(no.body.errors[0].extensions.code).toBe('VM_NOT_FOUND');
  });
});

describe('the console websocket', () => {
  it('opens the serial console of the VM through the cluster: login prompt and echo, then an audit event with the bytes', async () => {
    const tk = await issued(student, tenant, 'web', 'serial');
    const { socket, reader } = await openWebSocket(socketUrl(tk.ticket));
    expect(await reader.readUntil('web login: ')).toBe('\r\nweb login: ');
    socket.send(Buffer.from('student'));
    expect(await reader.readUntil('student')).toBe('student');
    const metrics = await rest.api().get('/metrics');
    expect(metrics.text).toMatch(/labplane_console_sessions\{type="serial"\} 1/);
    socket.close(1000);
    await reader.closedWith();
    await expect
      .poll(async () => {
        const res = await rest.api().get(`/v1/audit?tenant=${tenant}&actor=stu-1`).set('authorization', admin);
        return (res.body.items as Array<Record<string, any>>).find((e) => e['action'] === 'consoleSession');
      })
      .toMatchObject({
        actor: { id: 'stu-1' },
        tenant,
        target: { type: 'vm', id: 'web' },
        path: '/v1/console/[ticket]',
        console: { type: 'serial', bytesToVm: 7, bytesFromVm: '\r\nweb login: student'.length, closedBy: 'client' },
      });
    await expect.poll(async () => (await rest.api().get('/metrics')).text).toMatch(/labplane_console_sessions\{type="serial"\} 0/);
  });

  it('opens the VNC display: the RFB 3.8 handshake comes through byte for byte', async () => {
    const tk = await issued(olga, tenant, 'web', 'vnc');
    const { socket, reader } = await openWebSocket(socketUrl(tk.ticket));
    expect((await reader.read(12)).toString('latin1')).toBe('RFB 003.008\n');
    socket.send(Buffer.from('RFB 003.008\n', 'latin1'));
    expect([...(await reader.read(2))]).toEqual([1, 1]);
    socket.send(Buffer.from([1]));
    expect((await reader.read(4)).readUInt32BE(0)).toBe(0);
    socket.send(Buffer.from([1]));
    const init = await reader.read(24);
    expect(init.readUInt16BE(0)).toBeGreaterThan(0);
    expect((await reader.read(init.readUInt32BE(20))).toString('utf8')).toBe(`${tenant}/web`);
    socket.close();
    await reader.closedWith();
  });

  it('a ticket opens once: a second use is 404 CONSOLE_TICKET_NOT_FOUND', async () => {
    const tk = await issued(olga, tenant, 'web', 'serial');
    const { socket, reader } = await openWebSocket(socketUrl(tk.ticket));
    await reader.readUntil('login: ');
    const again = await refusedUpgrade(socketUrl(tk.ticket));
    expect(again.status).toBe(404);
    expect(again.contentType).toContain('application/problem+json');
    expect(again.json()).toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
    socket.close();
    await reader.closedWith();
  });

  it('an expired ticket is refused (time moved past its minute)', async () => {
    const tk = await issued(olga, tenant, 'web', 'serial');
    skew.ms += 61_000;
    try {
      const r = await refusedUpgrade(socketUrl(tk.ticket));
      expect(r.status).toBe(404);
      expect(r.json()).toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
    } finally {
      skew.ms -= 61_000;
    }
  });

  it('another user’s ticket is refused when they present their own token, and a made-up ticket is refused', async () => {
    const tk = await issued(olga, tenant, 'web', 'serial');
    const r = await refusedUpgrade(socketUrl(tk.ticket), { headers: { authorization: neighbour } });
    expect(r.status).toBe(404);
    expect(r.json()).toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
    // Used up by the attempt: not even its holder can open it now.
    expect((await refusedUpgrade(socketUrl(tk.ticket), { headers: { authorization: olga } })).status).toBe(404);
    expect((await refusedUpgrade(socketUrl('A'.repeat(43)))).status).toBe(404);
    // The holder with their own token beside the ticket is let in.
    const mine = await issued(olga, tenant, 'web', 'serial');
    const { socket, reader } = await openWebSocket(socketUrl(mine.ticket), { headers: { authorization: olga } });
    await reader.readUntil('login: ');
    socket.close();
    await reader.closedWith();
  });

  it('a plain GET is 426 WEBSOCKET_REQUIRED; an upgrade from another site’s page is 403', async () => {
    const tk = await issued(olga, tenant, 'web', 'serial');
    expectProblem(await rest.api().get(`/v1/console/${tk.ticket}`), 426, 'WEBSOCKET_REQUIRED');
    const r = await refusedUpgrade(socketUrl(tk.ticket), { headers: { origin: 'https://evil.example' } });
    expect(r.status).toBe(403);
  });

  it('caps open consoles per VM: the third is 409 CONSOLE_LIMIT_REACHED, at the ticket and at the socket', async () => {
    const early = await issued(olga, tenant, 'web', 'serial');
    const a = await openWebSocket(socketUrl((await issued(olga, tenant, 'web', 'serial')).ticket));
    const b = await openWebSocket(socketUrl((await issued(olga, tenant, 'web', 'vnc')).ticket));
    await a.reader.readUntil('login: ');
    const res = await ticket(olga, tenant, 'web', 'serial');
    expectProblem(res, 409, 'CONSOLE_LIMIT_REACHED');
    expect(res.body.details).toEqual({ scope: 'vm', limit: 2 });
    const r = await refusedUpgrade(socketUrl(early.ticket));
    expect(r.status).toBe(409);
    expect(r.json()).toMatchObject({ code: 'CONSOLE_LIMIT_REACHED' });
    a.socket.close();
    b.socket.close();
    await a.reader.closedWith();
    await b.reader.closedWith();
    await expect.poll(() => t.deps.console.sessions.open(tenant, 'web')).toBe(0);
  });

  it('a console is closed at its time limit, busy or not, and the audit says so', async () => {
    const tk = await issued(olga, tenant, 'web', 'vnc');
    const { reader } = await openWebSocket(socketUrl(tk.ticket));
    await reader.read(12);
    skew.ms += 4 * 3_600_000;
    try {
      const closed = await reader.closedWith();
      expect(closed.reason).toContain('time limit');
      await expect
        .poll(async () => {
          const res = await rest.api().get(`/v1/audit?tenant=${tenant}&actor=olga`).set('authorization', admin);
          return (res.body.items as Array<Record<string, any>>).some((e) => e['console']?.closedBy === 'max-session');
        })
        .toBe(true);
    } finally {
      skew.ms -= 4 * 3_600_000;
    }
  });

  it('an idle console is closed on both sides once the idle timeout passed', async () => {
    const tk = await issued(olga, tenant, 'web', 'serial');
    const { reader } = await openWebSocket(socketUrl(tk.ticket));
    await reader.readUntil('login: ');
    expect(emulatorOf(t).consoles.connections(tenant, 'web').console).toBe(1);
    skew.ms += 61_000;
    try {
      const closed = await reader.closedWith();
      expect(closed.code).toBe(1000);
      expect(closed.reason).toContain('idle');
      await expect.poll(() => emulatorOf(t).consoles.connections(tenant, 'web').console).toBe(0);
    } finally {
      skew.ms -= 61_000;
    }
  });
});
