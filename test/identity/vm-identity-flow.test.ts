import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName, arcResourceId, ROLE_DEFINITION_GUIDS } from '../../src/domain/identity/index.js';
import { buildAppFromDeps } from '../../src/main/app-from-deps.js';
import { loadConfig } from '../../src/main/config.js';
import { buildDeps, type Deps } from '../../src/main/deps.js';
import { loggerOptions } from '../../src/main/logger.js';
import { vmBody } from '../vms/support.js';
import { eventually } from '../support/eventually.js';

/**
 * The onboarding flow on the embedded default: a VM created with Arc on gets the onboarding
 * user-data in its Secret, runs, connects (the emulator plays the VM's part), has its token
 * scrubbed, the SSH login extension installed and its owner's access granted, and shows the
 * command to connect. The token appears in no VM object, operation, log line or API response.
 */
let app: FastifyInstance;
let deps: Deps;
const logs: string[] = [];
let admin: string;
let owner: string;

beforeAll(async () => {
  const config = loadConfig({ LOG_LEVEL: 'trace', MAX_EVENT_LOOP_DELAY_MS: '0', RATE_LIMIT_PER_MINUTE: '1000000' });
  const stream = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  deps = await buildDeps(config, pino(loggerOptions(config), stream));
  // The HTTP app's request log lines too (they went to standard output, unread).
  app = await buildAppFromDeps(deps, { logStream: stream });
  await app.ready();
  await deps.jobs.engine.startWorker({ concurrency: 4 });
  const issue = async (claims: Parameters<NonNullable<Deps['devTokens']>['issue']>[0]) =>
    `Bearer ${(await deps.devTokens!.issue(claims)).accessToken}`;
  admin = await issue({ sub: 'ada', roles: ['platform-admin'] });
  owner = await issue({ sub: 'olga' });
});
afterAll(async () => {
  await app?.close();
  await deps?.jobs.engine.stop({ graceMs: 0 });
  await deps?.close();
});

const api = () => request(app.server);
async function settle(id: string, timeoutMs: number): Promise<Record<string, any>> {
  return eventually(
    async () => {
      const body = (await api().get(`/v1/operations/${id}`).set('authorization', admin)).body as Record<string, any>;
      return ['succeeded', 'failed', 'canceled'].includes(body['status']) ? body : undefined;
    },
    timeoutMs,
    `operation ${id} to finish`,
  );
}
const textOf = (s: unknown) =>
  Object.values((s as { data?: Record<string, string> } | undefined)?.data ?? {})
    .map((v) => Buffer.from(v, 'base64').toString('utf8'))
    .join('\n');
/** The VM's cloud-init Secret in its tenant namespace. */
const secretText = (tenant: string, vm: string) => textOf(deps.emulator!.store.get('secrets', tenant, `${vm}-cloudinit`));
/** What is staged for it in the control plane's namespace until the VM exists (and, with Arc, until scrubbed). */
const stagedText = (tenant: string, vm: string) =>
  textOf(deps.emulator!.store.get('secrets', deps.config.controlNamespace, `labplane-cloudinit.${tenant}.${vm}`));

describe('Arc onboarding on the embedded default', () => {
  it('a VM created with Arc on reaches identity ready, shows the connect command, and its token leaks nowhere', async () => {
    const tenant = `arc-${process.pid.toString(36)}`;
    expect(
      (
        await api()
          .post('/v1/tenants')
          .set('authorization', admin)
          .send({ id: tenant, displayName: tenant, profile: 'faculty', owners: [{ principalId: 'olga' }] })
      ).status,
    ).toBe(201);

    const created = await api()
      .post(`/v1/tenants/${tenant}/vms`)
      .set('authorization', owner)
      .send(vmBody('arc-one', { arc: true }));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const token = /sim-onboarding\.[A-Za-z0-9_-]+/.exec(stagedText(tenant, 'arc-one'))?.[0];
    expect(token, 'the staged Secret carries the onboarding token').toBeDefined();
    const responses: string[] = [JSON.stringify(created.body)];

    const createOp = await settle(created.body.id, 15_000);
    expect(createOp['status'], JSON.stringify(createOp)).toBe('succeeded');
    const children = await deps.jobs.store.listChildren(created.body.id);
    const identityOp = children.find((c) => c.kind === 'vm.identity');
    expect(identityOp).toBeDefined();
    const done = await settle(identityOp!.id, 30_000);
    expect(done['status'], JSON.stringify(done)).toBe('succeeded');
    responses.push(JSON.stringify(createOp), JSON.stringify(done));

    const vm = await api().get(`/v1/tenants/${tenant}/vms/arc-one`).set('authorization', owner);
    responses.push(vm.text);
    const { subscriptionId, resourceGroup } = deps.identity.settings;
    const resourceId = arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'arc-one'));
    expect(vm.body.identity).toEqual({
      arc: { status: 'Connected', machineResourceId: resourceId },
      extension: { state: 'Succeeded' },
      ready: true,
      connectCommand: `az ssh arc --subscription ${subscriptionId} --resource-group ${resourceGroup} --name ${arcMachineName(tenant, 'arc-one')}`,
    });
    // The tenant owner who owns the VM logs in with sudo.
    const grants = await deps.identity.access.list(resourceId);
    expect(grants.map((g) => [g.principalId, g.roleDefinitionId.split('/').at(-1), g.principalType])).toEqual([
      ['olga', ROLE_DEFINITION_GUIDS.administrator, 'User'],
    ]);
    const access = await api().get(`/v1/tenants/${tenant}/vms/arc-one/access`).set('authorization', owner);
    expect(access.body.items).toEqual([{ principalId: 'olga', role: 'administrator', principalType: 'User' }]);
    responses.push(access.text);
    const gql = await api()
      .post('/graphql')
      .set('authorization', owner)
      .send({ query: `{ vm(tenant: "${tenant}", name: "arc-one") { identity { ready connectCommand arc { status } extension { state } } } }` });
    expect(gql.body.data.vm.identity).toMatchObject({ ready: true, arc: { status: 'Connected' }, extension: { state: 'Succeeded' } });
    responses.push(JSON.stringify(gql.body));
    const ops = await api().get(`/v1/operations?tenant=${tenant}&limit=100`).set('authorization', admin);
    responses.push(ops.text);

    // Scrubbed: the Secret no longer holds the token, nothing is left staged; nothing else ever did.
    expect(secretText(tenant, 'arc-one')).not.toContain(token!);
    expect(secretText(tenant, 'arc-one')).toContain('azcmagent');
    expect(stagedText(tenant, 'arc-one')).toBe('');
    expect(deps.emulator!.store.get('secrets', tenant, 'arc-one-cloudinit')?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'VirtualMachine',
      name: 'arc-one',
    });
    const vmObject = deps.emulator!.store.get('virtualmachines.kubevirt.io', tenant, 'arc-one');
    expect(JSON.stringify(vmObject)).not.toContain(token!);
    for (const op of [await deps.jobs.store.get(created.body.id), await deps.jobs.store.get(identityOp!.id)])
      expect(JSON.stringify(op)).not.toContain(token!);
    for (const r of responses) expect(r).not.toContain(token!);
    expect(logs.length).toBeGreaterThan(0);
    // The HTTP app's request lines are among those read.
    expect(logs.some((l) => l.includes('"msg":"incoming request"'))).toBe(true);
    expect(logs.filter((l) => l.includes(token!))).toEqual([]);

    // Deleting the VM deletes its Arc machine.
    const del = await api().delete(`/v1/tenants/${tenant}/vms/arc-one`).set('authorization', owner);
    expect(del.status).toBe(202);
    expect((await settle(del.body.id, 15_000))['status']).toBe('succeeded');
    expect(await deps.identity.arcMachines.getMachine(arcMachineName(tenant, 'arc-one'))).toBeUndefined();
  }, 60_000);

  it('two tenants VMs of the same name get two Arc machines: neither owner is granted on the other one, and deleting one leaves the other', async () => {
    const bob = await deps.devTokens!.issue({ sub: 'bob' }).then((t) => `Bearer ${t.accessToken}`);
    const tenants = [`same-a-${process.pid.toString(36)}`, `same-b-${process.pid.toString(36)}`];
    const owners = { [tenants[0]!]: { token: owner, id: 'olga' }, [tenants[1]!]: { token: bob, id: 'bob' } };
    for (const tenant of tenants) {
      const res = await api()
        .post('/v1/tenants')
        .set('authorization', admin)
        .send({ id: tenant, displayName: tenant, profile: 'faculty', owners: [{ principalId: owners[tenant]!.id }] });
      expect(res.status).toBe(201);
    }
    const { subscriptionId, resourceGroup } = deps.identity.settings;
    for (const tenant of tenants) {
      const created = await api()
        .post(`/v1/tenants/${tenant}/vms`)
        .set('authorization', owners[tenant]!.token)
        .send(vmBody('web', { arc: true }));
      expect(created.status, created.text).toBe(202);
      expect((await settle(created.body.id, 30_000))['status']).toBe('succeeded');
      const children = (
        await api()
          .get(`/v1/operations?parentId=${created.body.id as string}`)
          .set('authorization', admin)
      ).body.items as Array<Record<string, any>>;
      const identityOp = children.find((o) => o['kind'] === 'vm.identity');
      expect((await settle(identityOp?.['id'], 30_000))['status']).toBe('succeeded');
    }
    const [a, b] = tenants.map((tenant) => arcResourceId(subscriptionId, resourceGroup, arcMachineName(tenant, 'web')));
    expect(a).not.toBe(b);
    for (const [tenant, scope, other] of [
      [tenants[0]!, a!, 'bob'],
      [tenants[1]!, b!, 'olga'],
    ] as const) {
      const vm = await api().get(`/v1/tenants/${tenant}/vms/web`).set('authorization', admin);
      expect(vm.body.identity.arc.machineResourceId).toBe(scope);
      const principals = (await deps.identity.access.list(scope)).map((g) => g.principalId);
      expect(principals).toContain(owners[tenant]!.id);
      expect(principals).not.toContain(other);
    }
    const del = await api().delete(`/v1/tenants/${tenants[0]!}/vms/web`).set('authorization', owner);
    expect((await settle(del.body.id, 30_000))['status']).toBe('succeeded');
    expect(await deps.identity.arcMachines.getMachine(arcMachineName(tenants[0]!, 'web'))).toBeUndefined();
    expect(await deps.identity.arcMachines.getMachine(arcMachineName(tenants[1]!, 'web'))).toMatchObject({ status: 'Connected' });
  }, 120_000);
});
