import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, vmBody } from '../vms/support.js';
import { eventually, startReceiver, verified, type Receiver } from './support.js';

let t: TestApp;
let receiver: Receiver;
let admin: string;

beforeAll(async () => {
  receiver = await startReceiver(() => 204);
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000', SIM_WEBHOOK_ROUTES: `lms.example.edu=${receiver.origin}` });
  admin = await t.bearer({ sub: 'e2e-admin', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});

describe('webhooks end to end (embedded default: simulated cluster and network, in-process jobs)', () => {
  it('registers https://lms.example.edu/hooks, creates a VM, and the local receiver gets vm.ready and operation.succeeded, signed', async () => {
    const rest = restClient(t);
    const tenant = await rest.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga' });
    const hook = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/webhooks`)
      .set('authorization', owner)
      .send({ url: 'https://lms.example.edu/hooks?src=labplane', events: ['vm.ready', 'operation.succeeded'] });
    expect(hook.status, hook.text).toBe(201);
    const secret: string = hook.body.secret;

    const op = await rest.createVm(owner, tenant, vmBody('e2e-vm', { owner: 'stud-7' }));
    const received = await eventually(() => (receiver.received.length >= 2 ? receiver.received : undefined), 15_000, 'two deliveries');
    expect(received).toHaveLength(2);
    const bodies = received.map((got) => {
      expect(got.path).toBe('/hooks?src=labplane');
      expect(got.headers['host']).toBe('lms.example.edu');
      return verified(secret, got);
    });
    const byType = Object.fromEntries(bodies.map((b) => [b['type'], b]));
    expect(byType['vm.ready']).toEqual({
      id: `${op['id']}.vm.ready`,
      type: 'vm.ready',
      timestamp: op['finishedAt'],
      tenant,
      data: { tenant, vm: 'e2e-vm', ownerId: 'stud-7', operationId: op['id'] },
    });
    expect(byType['operation.succeeded']).toMatchObject({
      id: `${op['id']}.operation.succeeded`,
      tenant,
      data: { id: op['id'], kind: 'vm.create', status: 'succeeded' },
    });

    const deliveries = await eventually(async () => {
      const res = await request(t.app.server).get(`/v1/tenants/${tenant}/webhooks/${hook.body.id}/deliveries`).set('authorization', owner);
      return res.body.items?.length === 2 && res.body.items.every((d: { status: string }) => d.status === 'succeeded') ? res.body.items : undefined;
    });
    expect(deliveries.map((d: { eventType: string }) => d.eventType).sort()).toEqual(['operation.succeeded', 'vm.ready']);
    expect(deliveries[0]).toMatchObject({ webhookId: hook.body.id, attempts: 1, responseStatus: 204 });
    expect(JSON.stringify(deliveries)).not.toContain(secret.slice(6));
  });

  it('a registered host without a route is vetted, then unreachable: the delivery records the failure, never the internet', async () => {
    const rest = restClient(t);
    const tenant = await rest.createTenant(admin);
    const owner = await t.bearer({ sub: 'olga' });
    // images.example.com resolves in the simulated DNS but has no route: registration passes the guard.
    const hook = await request(t.app.server)
      .post(`/v1/tenants/${tenant}/webhooks`)
      .set('authorization', owner)
      .send({ url: 'https://images.example.com/hook', events: ['operation.succeeded'] });
    expect(hook.status).toBe(201);
    await rest.createVm(owner, tenant, vmBody('unrouted-vm', { running: false }));
    const [delivery] = await eventually(async () => {
      const res = await request(t.app.server).get(`/v1/tenants/${tenant}/webhooks/${hook.body.id}/deliveries`).set('authorization', owner);
      return res.body.items?.[0]?.attempts >= 1 ? res.body.items : undefined;
    });
    expect(delivery).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(delivery.lastError).toMatch(/not reachable in the simulated network/);
  });
});
