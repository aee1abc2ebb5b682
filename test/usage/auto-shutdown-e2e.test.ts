import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { usageQueries } from '../../src/adapters/prometheus/index.js';
import type { SimPrometheus } from '../../src/adapters/sim/prometheus.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { USAGE_WINDOW_SECONDS } from '../../src/jobs/idle-detector-loop.js';
import { labBody, labClient, person, personId } from '../labs/support.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { emulatorOf, vmBody } from '../vms/support.js';
import { eventually, startReceiver, verified, type Receiver } from '../webhooks/support.js';

/**
 * Auto-shutdown end to end on the embedded default: the real Kubernetes adapter against the emulator
 * (its guest agents behind the `userlist` subresource), the real Prometheus adapter against the
 * simulated Prometheus, webhooks delivered through the simulated network, the idle detector driven
 * pass by pass (`deps.autoShutdown.tick()`) in fake time (the `usageClock` override).
 */

const MIN = 60_000;
const HOOK_HOST = 'hooks.uni.example.edu';
let now = Date.now();
const clock = { now: () => new Date(now) };

let t: TestApp;
let receiver: Receiver;
let admin: string;
let rest: ReturnType<typeof labClient>;

beforeAll(async () => {
  receiver = await startReceiver(() => 204);
  // The detector's and the meter's own passes are an hour of real time apart: the test's ticks are the passes.
  t = await startTestApp(
    { SIM_WEBHOOK_ROUTES: `${HOOK_HOST}=${receiver.origin}`, IDLE_CHECK_INTERVAL_MS: '3600000', USAGE_METER_INTERVAL_MS: '3600000' },
    { usageClock: clock },
  );
  admin = await t.bearer({ sub: 'auto-shutdown-admin', roles: ['platform-admin'] });
  rest = labClient(t);
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
});
// The cluster stamps a VM's start in real time: each test's fake time starts from the real now, so
// its VMs start "now" (a test moves the fake clock tens of minutes on; the next one starts afresh).
beforeEach(() => {
  now = Date.now();
});

const off = { enabled: false, delay: 'PT15M' };
const idleOff = { mode: 'none', delay: 'PT15M' };

/** A tenant with a webhook for the detector's events; its signing secret. */
async function tenantWithHook(extra: Record<string, unknown> = {}): Promise<{ tenant: string; secret: string }> {
  const tenant = await rest.createTenant(admin, extra);
  const hook = await rest
    .api()
    .post(`/v1/tenants/${tenant}/webhooks`)
    .set('authorization', admin)
    .send({ url: `https://${HOOK_HOST}/labplane/${tenant}`, events: ['vm.idle-warning', 'vm.quota-warning', 'vm.auto-shutdown'] });
  expect(hook.status, hook.text).toBe(201);
  return { tenant, secret: hook.body.secret as string };
}

/** The verified deliveries to `tenant`'s webhook so far. */
function deliveries(tenant: string, secret: string): Record<string, any>[] {
  return receiver.received.filter((r) => r.path === `/labplane/${tenant}`).map((r) => verified(secret, r));
}

/** A lab whose students' VMs run, with the given auto-shutdown profile; the VM names in student order. */
async function labWith(tenant: string, name: string, autoShutdown: Record<string, unknown>, students = 1, extra: Record<string, unknown> = {}) {
  const people = Array.from({ length: students }, (_, i) => person(i + 1));
  await rest.createLab(admin, tenant, labBody(name, { students: people, costControls: { autoShutdown, warningPeriod: 'PT5M', ...extra } }));
  const vms = people.map((_, i) => studentVmName(name, personId(i + 1)));
  for (const vm of vms) await eventually(async () => (await rest.vm(admin, tenant, vm)).body.state === 'Running', 20_000, `${vm} to run`);
  return vms;
}

/** Moves the fake clock on and runs one detector pass. */
async function after(ms: number): Promise<void> {
  now += ms;
  await t.deps.autoShutdown.tick();
}

const userlistPath = (tenant: string, vm: string) => `/apis/subresources.kubevirt.io/v1/namespaces/${tenant}/virtualmachineinstances/${vm}/userlist`;

async function stopOperationOf(tenant: string, vm: string): Promise<Record<string, any> | undefined> {
  return (await stopOperations(tenant, vm))[0];
}

async function stopOperations(tenant: string, vm: string): Promise<Record<string, any>[]> {
  const res = await rest
    .api()
    .get(`/v1/operations?tenant=${tenant}&kind=vm.stop&targetType=vm&targetId=${encodeURIComponent(`${tenant}/${vm}`)}`)
    .set('authorization', admin);
  expect(res.status, res.text).toBe(200);
  return res.body.items as Record<string, any>[];
}

describe('auto-shutdown on the embedded default, in fake time', () => {
  it('a disconnect stops the VM after the delay, with the vm.idle-warning webhook first', async () => {
    const { tenant, secret } = await tenantWithHook();
    const [vm] = (await labWith(tenant, 'dc', {
      shutdownOnDisconnect: { enabled: true, delay: 'PT15M' },
      shutdownWhenNotConnected: off,
      shutdownOnIdle: idleOff,
    })) as [string];
    const em = emulatorOf(t);
    const userlists = () => em.requestCount({ method: 'GET', pathPrefix: userlistPath(tenant, vm) });
    const before = userlists();
    await after(0);
    const session = em.guestAgents.openSession(tenant, vm, { userName: 'ann', loginTime: new Date(now) });
    await after(1 * MIN);
    expect((await rest.vm(admin, tenant, vm)).body.autoShutdown).toEqual({ signals: 'available', active: true });
    em.guestAgents.closeSession(session);
    await after(1 * MIN); // last seen at +1 min
    await after(14 * MIN); // +16: due at +16
    // One look per pass at the guest (a pass of the leader's own timer may add one).
    expect(userlists() - before).toBeGreaterThanOrEqual(4);

    const warning = await eventually(() => deliveries(tenant, secret).find((d) => d['type'] === 'vm.idle-warning'), 15_000, 'the idle warning');
    const warnedAt = new Date(now).toISOString();
    const stopAt = new Date(now + 5 * MIN).toISOString();
    expect(warning['data']).toEqual({ tenant, vm, lab: 'dc', ownerId: personId(1), reason: 'AutoShutdown:Disconnect', warnedAt, stopAt });
    expect(warning['id']).toMatch(new RegExp(`^${tenant}\\.${vm}\\.[0-9a-f-]+\\.idle-warning\\.${warnedAt.replace(/\./g, '\\.')}$`));
    expect((await rest.vm(admin, tenant, vm)).body.autoShutdown).toMatchObject({
      signals: 'available',
      active: false,
      warnedAt,
      stopAt,
      reason: 'AutoShutdown:Disconnect',
    });
    expect(await stopOperationOf(tenant, vm)).toBeUndefined();

    await after(4 * MIN);
    expect(await stopOperationOf(tenant, vm)).toBeUndefined();
    await after(1 * MIN);
    const op = await eventually(() => stopOperationOf(tenant, vm), 10_000, 'the stop');
    expect(op['createdBy']).toBe('system:auto-shutdown');
    const done = await rest.settle(admin, op['id'] as string, 20_000);
    expect(done).toMatchObject({ status: 'succeeded', result: { reason: 'AutoShutdown:Disconnect', state: 'Stopped' } });
    const announced = await eventually(
      () => deliveries(tenant, secret).find((d) => d['type'] === 'vm.auto-shutdown'),
      15_000,
      'the stop announcement',
    );
    expect(announced['data']).toMatchObject({ reason: 'AutoShutdown:Disconnect', operationId: op['id'], warnedAt, stopAt });
    expect(deliveries(tenant, secret).map((d) => d['type'])).toEqual(['vm.idle-warning', 'vm.auto-shutdown']);
    const audit = await rest.api().get(`/v1/audit?tenant=${tenant}`).set('authorization', admin);
    expect(audit.body.items).toContainEqual(
      expect.objectContaining({
        action: 'vm.auto-shutdown',
        actor: expect.objectContaining({ id: 'system:auto-shutdown' }),
        reason: 'AutoShutdown:Disconnect',
        requestId: op['id'],
      }),
    );
    const metrics = (await rest.api().get('/metrics')).text;
    expect(metrics).toMatch(/^labplane_auto_shutdowns_total\{reason="AutoShutdown:Disconnect"\} [1-9]/m);
    expect(metrics).toMatch(/^labplane_idle_warnings_total\{kind="idle"\} [1-9]/m);
  });

  it('a started VM nobody connects to is warned no sooner than its delay, then stopped (NotConnected)', async () => {
    const { tenant, secret } = await tenantWithHook();
    const [vm] = (await labWith(tenant, 'nc', {
      shutdownOnDisconnect: off,
      shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' },
      shutdownOnIdle: idleOff,
    })) as [string];
    await after(0);
    await after(15 * MIN);
    await eventually(
      () => deliveries(tenant, secret).some((d) => d['type'] === 'vm.idle-warning' && d['data']['reason'] === 'AutoShutdown:NotConnected'),
      15_000,
    );
    await after(5 * MIN);
    const op = await eventually(() => stopOperationOf(tenant, vm), 10_000, 'the stop');
    expect(await rest.settle(admin, op['id'] as string, 20_000)).toMatchObject({
      status: 'succeeded',
      result: { reason: 'AutoShutdown:NotConnected' },
    });
    expect((await rest.vm(admin, tenant, vm)).body.state).toBe('Stopped');
  });

  it('lowUsage: an idle VM is stopped, a busy one is not; the usage is read with the adapter’s PromQL', async () => {
    const { tenant } = await tenantWithHook();
    const [busy, idle] = (await labWith(
      tenant,
      'lu',
      { shutdownOnDisconnect: off, shutdownWhenNotConnected: off, shutdownOnIdle: { mode: 'lowUsage', delay: 'PT15M' } },
      2,
    )) as [string, string];
    const prom = t.deps.world.simPrometheus as SimPrometheus;
    prom.setUsage(tenant, busy, { cpu: 0.8, network: 200_000, disk: 1_000_000 });
    prom.setUsage(tenant, idle, { cpu: 0.01, network: 500, disk: 2_000 });
    const seen = prom.requests.length;
    await after(0);
    for (let i = 0; i < 4; i++) await after(5 * MIN);
    const op = await eventually(() => stopOperationOf(tenant, idle), 10_000, 'the stop of the idle VM');
    expect(await rest.settle(admin, op['id'] as string, 20_000)).toMatchObject({ status: 'succeeded', result: { reason: 'AutoShutdown:Idle' } });
    expect(await stopOperationOf(tenant, busy)).toBeUndefined();
    expect((await rest.vm(admin, tenant, busy)).body.autoShutdown).toEqual({ signals: 'available', active: true });

    // What reached the simulated Prometheus is exactly what the adapter builds for the VMs watched.
    const cpu = prom.requests
      .slice(seen)
      .find((r) => r.query.startsWith('sum by (namespace, name) (rate(kubevirt_vmi_cpu_usage_seconds_total{') && r.query.includes(busy));
    expect(cpu?.method).toBe('POST');
    const m = /namespace=~"([^"]*)",name=~"([^"]*)"/.exec(cpu?.query ?? '');
    const selection = { namespaces: (m?.[1] ?? '').split('|'), names: (m?.[2] ?? '').split('|') };
    expect(selection.names).toEqual(expect.arrayContaining([busy, idle]));
    const expected = usageQueries(selection, USAGE_WINDOW_SECONDS);
    const sent = new Set(prom.requests.map((r) => r.query));
    for (const q of [expected.cpu, expected.network, expected.disk, expected.console]) expect(sent).toContain(q);
  });

  it('a VM without guest agent is never stopped, and shows signals unavailable', async () => {
    const { tenant, secret } = await tenantWithHook();
    const [vm] = (await labWith(tenant, 'na', {
      shutdownOnDisconnect: { enabled: true, delay: 'PT15M' },
      shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' },
      shutdownOnIdle: { mode: 'userAbsence', delay: 'PT15M' },
    })) as [string];
    emulatorOf(t).guestAgents.disconnectAgent(tenant, vm);
    await after(0);
    for (let i = 0; i < 12; i++) await after(10 * MIN);
    expect((await rest.vm(admin, tenant, vm)).body).toMatchObject({ state: 'Running', autoShutdown: { signals: 'unavailable', active: false } });
    expect(await stopOperationOf(tenant, vm)).toBeUndefined();
    expect(deliveries(tenant, secret)).toEqual([]);
    // GraphQL shows the same, and a list shows it for each VM that has cost controls (null for others).
    const gql = await rest
      .api()
      .post('/graphql')
      .set('authorization', admin)
      .send({
        query:
          'query($t: ID!, $n: ID!) { vm(tenant: $t, name: $n) { autoShutdown { signals active warnedAt } } vms(tenant: $t) { items { name autoShutdown { signals } } } }',
        variables: { t: tenant, n: vm },
      });
    expect(gql.body.errors).toBeUndefined();
    expect(gql.body.data.vm.autoShutdown).toEqual({ signals: 'unavailable', active: false, warnedAt: null });
    expect(gql.body.data.vms.items).toEqual([{ name: vm, autoShutdown: { signals: 'unavailable' } }]);
    // REST lists stay cache reads: no auto-shutdown there.
    const list = await rest.api().get(`/v1/tenants/${tenant}/vms`).set('authorization', admin);
    expect(list.body.items[0]).not.toHaveProperty('autoShutdown');
    expect((await rest.api().get('/metrics')).text).toMatch(/^labplane_vm_signals_unavailable [1-9]/m);
  });

  it('an exhausted quota stops a running VM after its vm.quota-warning', async () => {
    const { tenant, secret } = await tenantWithHook();
    const [vm] = (await labWith(tenant, 'qu', { shutdownOnDisconnect: off, shutdownWhenNotConnected: off, shutdownOnIdle: idleOff }, 1, {
      usageQuotaHours: 0.25,
    })) as [string];
    // The meter records the run (a pass once the VM's cache has its running instance).
    await expect
      .poll(async () => {
        await t.deps.usage.meter.tick();
        return (await t.deps.usage.reader.usageOfVm(tenant, vm))?.report.runningSince;
      })
      .toBeDefined();
    await after(0);
    await after(9 * MIN); // 6 min left: more than the warning period
    expect(deliveries(tenant, secret)).toEqual([]);
    await after(1 * MIN); // 5 min left
    const warning = await eventually(() => deliveries(tenant, secret).find((d) => d['type'] === 'vm.quota-warning'), 15_000, 'the quota warning');
    expect(warning['data']).toMatchObject({
      tenant,
      vm,
      lab: 'qu',
      ownerId: personId(1),
      reason: 'UsageQuota:Exhausted',
      stopAt: new Date(now + 5 * MIN).toISOString(),
    });
    expect((await rest.vm(admin, tenant, vm)).body.autoShutdown).toMatchObject({
      reason: 'UsageQuota:Exhausted',
      stopAt: new Date(now + 5 * MIN).toISOString(),
    });
    await after(4 * MIN);
    expect(await stopOperationOf(tenant, vm)).toBeUndefined();
    await after(1 * MIN); // used up, and the warning period has passed
    const op = await eventually(() => stopOperationOf(tenant, vm), 10_000, 'the stop');
    expect(op['createdBy']).toBe('system:auto-shutdown');
    expect(await rest.settle(admin, op['id'] as string, 20_000)).toMatchObject({ status: 'succeeded', result: { reason: 'UsageQuota:Exhausted' } });
    await eventually(
      () => deliveries(tenant, secret).some((d) => d['type'] === 'vm.auto-shutdown' && d['data']['reason'] === 'UsageQuota:Exhausted'),
      15_000,
    );
    expect((await rest.api().get('/metrics')).text).toMatch(/^labplane_idle_warnings_total\{kind="quota"\} [1-9]/m);

    // An admin (as an owner or instructor may) starts the exhausted student's VM: that run is theirs,
    // and the quota does not stop it.
    await eventually(async () => (await rest.vm(admin, tenant, vm)).body.state === 'Stopped', 20_000, `${vm} to stop`);
    const start = await rest.act(admin, tenant, vm, 'start');
    expect(start.status, start.text).toBe(202);
    expect(await rest.settle(admin, start.body.id as string, 20_000)).toMatchObject({ status: 'succeeded' });
    const stopsBefore = (await stopOperations(tenant, vm)).length;
    await after(0);
    await after(10 * MIN);
    await after(10 * MIN);
    expect(await stopOperations(tenant, vm)).toHaveLength(stopsBefore);
    expect((await rest.vm(admin, tenant, vm)).body.state).toBe('Running');
  });

  it("a VM outside labs follows its tenant's cost controls", async () => {
    const autoShutdown = { shutdownOnDisconnect: off, shutdownWhenNotConnected: { enabled: true, delay: 'PT15M' }, shutdownOnIdle: idleOff };
    const { tenant, secret } = await tenantWithHook({ costControls: { autoShutdown, warningPeriod: 'PT0S' } });
    await rest.createVm(admin, tenant, vmBody('web-1', { owner: 'olga' }));
    await eventually(async () => (await rest.vm(admin, tenant, 'web-1')).body.state === 'Running', 20_000, 'web-1 to run');
    await after(0);
    await after(15 * MIN);
    const warning = await eventually(() => deliveries(tenant, secret).find((d) => d['type'] === 'vm.idle-warning'), 15_000, 'the idle warning');
    expect(warning['data']).toEqual({
      tenant,
      vm: 'web-1',
      ownerId: 'olga',
      reason: 'AutoShutdown:NotConnected',
      warnedAt: new Date(now).toISOString(),
      stopAt: new Date(now).toISOString(),
    });
    await after(1 * MIN); // a warning period of 0 stops on the next look
    const op = await eventually(() => stopOperationOf(tenant, 'web-1'), 10_000, 'the stop');
    expect(await rest.settle(admin, op['id'] as string, 20_000)).toMatchObject({
      status: 'succeeded',
      result: { reason: 'AutoShutdown:NotConnected' },
    });
  });
});
