import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { RecordedRequests } from '../../src/adapters/sim/kube-emulator/index.js';
import { seededNodeName } from '../../src/adapters/sim/kube-emulator/index.js';
import { labClient, LAB_TEMPLATE, person } from '../labs/support.js';
import { startTestApp } from '../support/test-app.js';
import { emulatorOf, VM, vmBody } from '../vms/support.js';
import { eventually, startReceiver, verified } from '../webhooks/support.js';
import { openWebSocket } from '../support/ws-bytes.js';

/** `HH:MM` (UTC) of now minus `minutes`. */
function utcClock(minutes: number): string {
  const d = new Date(Date.now() - minutes * 60_000);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}
const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/**
 * Everything the control plane does to a cluster, through the app's real composition on the
 * embedded default (real Kubernetes adapters, emulated API server recording each request): a
 * tenant with members, an image import, a VM's whole life (with Arc identity, snapshots and a restore, a clone, published as an image, its VNC and serial consoles), node listing and
 * evacuation, a lab with roster sync, the idle detector's look at its running VMs, scheduled power and end-of-course deletion, webhooks
 * registered, delivered and deleted, LTI registrations and a tool key rotation, and the tenant's deletion. Resolves what the cluster saw.
 */
export async function runScenario(): Promise<RecordedRequests> {
  const receiver = await startReceiver(() => 204);
  const t = await startTestApp(
    { RATE_LIMIT_PER_MINUTE: '1000000', LAB_TICK_MS: '200', SIM_WEBHOOK_ROUTES: `lms.uni.example.edu=${receiver.origin}` },
    { recordKubeRequests: true },
  );
  try {
    const admin = await t.bearer({ sub: 'root', roles: ['platform-admin'] });
    const client = labClient(t);
    const api = client.api;
    const ok = async (what: string, res: Promise<{ status: number; body: any }>, status: number) => {
      const r = await res;
      expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(status);
      return r.body;
    };
    const settled = async (what: string, id: string, timeout = 30_000) => {
      const op = await client.settle(admin, id, timeout);
      expect(op['status'], `${what}: ${JSON.stringify(op)}`).toBe('succeeded');
      return op;
    };

    // Tenant with owners and members.
    const tenant = await client.createTenant(admin, { owners: [{ principalId: 'olga' }, { principalId: 'sam' }] });
    await ok('member', api().put(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin).send({ role: 'member' }), 200);
    await ok('add member', api().put(`/v1/tenants/${tenant}/members/max`).set('authorization', admin).send({ role: 'member' }), 201);
    await ok('promote member', api().put(`/v1/tenants/${tenant}/members/max`).set('authorization', admin).send({ role: 'owner' }), 200);
    await ok(
      'rename member',
      api().put(`/v1/tenants/${tenant}/members/max`).set('authorization', admin).send({ role: 'owner', displayName: 'Max M.' }),
      200,
    );
    await ok('remove member', api().delete(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin), 204);
    await ok(
      'quota change',
      api()
        .patch(`/v1/tenants/${tenant}`)
        .set('authorization', admin)
        .send({ quota: { requestsCpu: 40 } }),
      200,
    );

    // Webhook registered; it is delivered to below.
    const hook = await ok(
      'webhook',
      api()
        .post(`/v1/tenants/${tenant}/webhooks`)
        .set('authorization', admin)
        .send({ url: 'https://lms.uni.example.edu/hooks', events: ['operation.succeeded'] }),
      201,
    );

    // LTI: a platform registered, changed, moved to another client id, a second one kept for the
    // tenant deletion; the tool's keys published (created on first use) and rotated.
    const lti = `/v1/tenants/${tenant}/lti/registrations`;
    const platform = {
      issuer: 'https://canvas.instructure.com',
      clientId: '10000000000001',
      deploymentIds: ['1:abc'],
      authLoginUrl: 'https://sso.canvaslms.com/api/lti/authorize_redirect',
      accessTokenUrl: 'https://sso.canvaslms.com/login/oauth2/token',
      jwksUrl: 'https://sso.canvaslms.com/api/lti/security/jwks',
    };
    const reg = await ok('lti registration', api().post(lti).set('authorization', admin).send(platform), 201);
    await ok(
      'lti update',
      api()
        .put(`${lti}/${reg.id}`)
        .set('authorization', admin)
        .send({ ...platform, deploymentIds: ['1:abc', '2:def'] }),
      200,
    );
    await ok(
      'lti new client id',
      api()
        .put(`${lti}/${reg.id}`)
        .set('authorization', admin)
        .send({ ...platform, clientId: '10000000000002' }),
      200,
    );
    await ok('lti delete', api().delete(`${lti}/${reg.id}`).set('authorization', admin), 204);
    await ok(
      'lti kept',
      api()
        .post(lti)
        .set('authorization', admin)
        .send({ ...platform, clientId: '10000000000003' }),
      201,
    );
    await ok('tool jwks', api().get('/lti/jwks'), 200);
    await ok('key rotation', api().post('/v1/lti/keys/rotate').set('authorization', admin), 204);

    // Image import into the tenant.
    const image = await ok(
      'image import',
      api()
        .post(`/v1/tenants/${tenant}/images`)
        .set('authorization', admin)
        .send({ name: 'fedora-40', sizeGi: 5, source: { type: 'http', url: 'https://images.example.com/fedora.qcow2' } }),
      202,
    );
    await settled('image import', image.id);

    // A VM's whole life, with Arc identity.
    await client.createVm(admin, tenant, vmBody('web-1', { arc: true, storageClass: 'kv-standard' }));
    await eventually(async () => (await client.vm(admin, tenant, 'web-1')).body.identity?.ready === true, 30_000, 'the Arc identity');
    await ok('resize', api().patch(`/v1/tenants/${tenant}/vms/web-1`).set('authorization', admin).send({ instanceType: 'medium' }), 200);
    for (const action of ['stop', 'start', 'restart', 'migrate'])
      await settled(action, (await ok(action, client.act(admin, tenant, 'web-1', action), 202)).id);
    // Snapshots of the VM: taken, listed, read, restored (stopping it first), one deleted; the other goes with the VM.
    const vmUrl = `/v1/tenants/${tenant}/vms/web-1`;
    for (const name of ['before', 'spare'])
      await settled(`snapshot ${name}`, (await ok('snapshot', api().post(`${vmUrl}/snapshots`).set('authorization', admin).send({ name }), 202)).id);
    await ok('snapshots', api().get(`${vmUrl}/snapshots`).set('authorization', admin), 200);
    await ok('snapshot', api().get(`${vmUrl}/snapshots/before`).set('authorization', admin), 200);
    await settled(
      'restore',
      (await ok('restore', api().post(`${vmUrl}/restore`).set('authorization', admin).send({ snapshot: 'before', stopFirst: true }), 202)).id,
    );
    await ok('snapshot delete', api().delete(`${vmUrl}/snapshots/spare`).set('authorization', admin), 204);
    // A clone of the VM (its own VM, cloud-init Secret and disks), and the VM published as a tenant image, twice (version 2 replaces 1).
    await settled(
      'clone',
      (await ok('clone', api().post(`${vmUrl}/clone`).set('authorization', admin).send({ name: 'web-1-copy', running: false }), 202)).id,
    );
    for (const round of ['publish', 'republish'])
      await settled(
        round,
        (await ok(round, api().post(`${vmUrl}/publish`).set('authorization', admin).send({ image: 'web-template', stopFirst: true }), 202)).id,
      );
    await client.createVm(admin, tenant, vmBody('keep-disk', { storageClass: 'kv-premium-retain' }));
    // Its consoles, through the proxy (virt-api's vnc and console websockets).
    await eventually(async () => (await client.vm(admin, tenant, 'keep-disk')).body.state === 'Running', 30_000, 'keep-disk running');
    const port = (t.app.server.address() as AddressInfo).port;
    for (const type of ['vnc', 'serial']) {
      const tk = await ok(
        `${type} ticket`,
        api().post(`/v1/tenants/${tenant}/vms/keep-disk/console`).set('authorization', admin).send({ type }),
        201,
      );
      const { socket, reader } = await openWebSocket(`ws://127.0.0.1:${port}${tk.websocketPath as string}`);
      await reader.read(1);
      socket.close();
      await reader.closedWith();
    }

    // Nodes: listed and one evacuated.
    await ok('nodes', api().get('/v1/nodes').set('authorization', admin), 200);
    await settled(
      'evacuation',
      (
        await ok(
          'evacuate',
          api()
            .post(`/v1/nodes/${seededNodeName(0)}/evacuate`)
            .set('authorization', admin),
          202,
        )
      ).id,
    );

    // VMs deleted (one keeps its disk).
    for (const vm of ['web-1', 'web-1-copy', 'keep-disk'])
      await settled(`delete ${vm}`, (await ok(`delete ${vm}`, api().delete(`/v1/tenants/${tenant}/vms/${vm}`).set('authorization', admin), 202)).id);

    // A lab: created, roster synced, powered by its schedule, ended, deleted.
    // Not client.createLab: it polls with expect.poll, which a beforeAll may not use.
    const createLab = async (body: Record<string, unknown>) => {
      await settled(
        `lab ${String(body['name'])}`,
        (await ok('lab', api().post(`/v1/tenants/${tenant}/labs`).set('authorization', admin).send(body), 202)).id,
      );
      await eventually(async () => (await client.lab(admin, tenant, String(body['name']))).body.phase === 'Ready', 30_000, 'the lab to be Ready');
    };
    await createLab({ name: 'os-101', template: { ...LAB_TEMPLATE, arc: true }, instructors: [person(100)], students: [person(1), person(2)] });
    // The idle detector looks at the lab's running VMs (a new lab has auto-shutdown on): who is logged into each guest.
    await t.deps.autoShutdown.tick();
    const sync = await ok(
      'roster',
      api()
        .put(`/v1/tenants/${tenant}/labs/os-101/roster`)
        .set('authorization', admin)
        .send({ students: [person(2), person(3)] }),
      202,
    );
    await settled('roster sync', sync.operation.id);
    const stopNow = [{ name: 'evening', days: ALL_DAYS, startTime: utcClock(3), stopTime: utcClock(1), timeZone: 'UTC' }];
    await ok('schedule', api().patch(`/v1/tenants/${tenant}/labs/os-101`).set('authorization', admin).send({ schedules: stopNow }), 200);
    const strategies = () =>
      emulatorOf(t)
        .store.list(VM, { namespace: tenant })
        .map((vm) => (vm.spec as { runStrategy?: string }).runStrategy);
    await eventually(() => strategies().length > 0 && strategies().every((s) => s === 'Halted'), 20_000, 'the scheduled stop');
    const endsAt = new Date(Date.now() - 2_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await ok('end', api().patch(`/v1/tenants/${tenant}/labs/os-101`).set('authorization', admin).send({ endsAt, endGracePeriodDays: 0 }), 200);
    await eventually(() => emulatorOf(t).store.list(VM, { namespace: tenant }).length === 0, 20_000, 'the end-of-course deletion');
    await createLab({ name: 'short', template: LAB_TEMPLATE, students: [person(4)] });
    await settled('lab delete', (await ok('lab delete', api().delete(`/v1/tenants/${tenant}/labs/short`).set('authorization', admin), 202)).id);

    // The webhook changed and its secret rotated (both rewrite its Secret), pinged; then deleted.
    await ok(
      'webhook change',
      api().patch(`/v1/tenants/${tenant}/webhooks/${hook.id}`).set('authorization', admin).send({ description: 'LMS' }),
      200,
    );
    await ok('webhook rotation', api().post(`/v1/tenants/${tenant}/webhooks/${hook.id}/rotate-secret`).set('authorization', admin), 200);
    // The webhook was delivered, signed; then deleted.
    await eventually(() => receiver.received.find((r) => verified(hook.secret as string, r)['type'] === 'operation.succeeded'), 15_000, 'a delivery');
    await ok('webhook delete', api().delete(`/v1/tenants/${tenant}/webhooks/${hook.id}`).set('authorization', admin), 204);
    await ok(
      'second webhook',
      api()
        .post(`/v1/tenants/${tenant}/webhooks`)
        .set('authorization', admin)
        .send({ url: 'https://lms.uni.example.edu/other', events: ['lab.ready'] }),
      201,
    );

    // The image goes, then the tenant (its remaining webhook with it).
    await ok('image delete', api().delete(`/v1/tenants/${tenant}/images/fedora-40`).set('authorization', admin), 204);
    await settled('tenant delete', (await ok('tenant delete', api().delete(`/v1/tenants/${tenant}`).set('authorization', admin), 202)).id);
    return emulatorOf(t).recordedRequests();
  } finally {
    await t.close();
    await receiver.close();
  }
}
