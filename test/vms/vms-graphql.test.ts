import request from 'supertest';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { vmLoaders } from '../../src/api/graphql/vms.js';
import type { Image } from '../../src/domain/images/image.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient, sshKey } from './support.js';

let t: TestApp;
let admin: string;
let base: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.bearer({ sub: 'admin-g', roles: ['platform-admin'] });
  base = t.url;
  rest = restClient(t);
});
afterAll(async () => {
  await t?.close();
});

type Gql = { data: any; errors?: Array<{ message: string; extensions: { code: string; status: number; details?: any } }> };
async function gql(auth: string, query: string, variables: Record<string, unknown> = {}): Promise<Gql> {
  return (await request(t.app.server).post('/graphql').set('authorization', auth).send({ query, variables })).body as Gql;
}

const OP = `id kind status`;
const input = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: { scope: 'platform', name: 'ubuntu-24-04' },
  instanceType: 'small',
  diskGi: 10,
  storageClass: 'kv-standard',
  sshPublicKeys: [sshKey()],
  ...extra,
});

async function mutate(auth: string, field: string, tenant: string, name: string): Promise<Record<string, any>> {
  const res = await gql(auth, `mutation($t: ID!, $n: ID!) { ${field}(tenant: $t, name: $n) { ${OP} } }`, { t: tenant, n: name });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return rest.settle(auth, res.data[field].id as string);
}

describe('VMs over GraphQL', () => {
  it('creates a VM and drives it through stop, start, restart, migrate and delete; refusals carry the REST codes', async () => {
    const tenant = await rest.createTenant(admin);
    const created = await gql(admin, `mutation($t: ID!, $i: CreateVmInput!) { createVm(tenant: $t, input: $i) { ${OP} } }`, {
      t: tenant,
      i: input('gql-1', { labels: [{ key: 'course', value: 'db' }] }),
    });
    expect(created.errors).toBeUndefined();
    expect(created.data.createVm.kind).toBe('vm.create');
    expect((await rest.settle(admin, created.data.createVm.id)).status).toBe('succeeded');
    const read = await gql(
      admin,
      `query($t: ID!) { vm(tenant: $t, name: "gql-1") { name state availableActions liveMigratable nodeName labels { key value } imageRef { scope name } image { name phase sizeGi } } }`,
      { t: tenant },
    );
    expect(read.data.vm).toMatchObject({
      name: 'gql-1',
      state: 'Running',
      availableActions: ['stop', 'restart', 'migrate'],
      liveMigratable: true,
      labels: [{ key: 'course', value: 'db' }],
      imageRef: { scope: 'platform', name: 'ubuntu-24-04' },
      image: { name: 'ubuntu-24-04', phase: 'Ready', sizeGi: 10 },
    });
    for (const field of ['stopVm', 'startVm', 'restartVm', 'migrateVm']) {
      expect((await mutate(admin, field, tenant, 'gql-1')).status, field).toBe('succeeded');
    }
    await mutate(admin, 'stopVm', tenant, 'gql-1');
    const refused = await gql(admin, `mutation($t: ID!) { restartVm(tenant: $t, name: "gql-1") { id } }`, { t: tenant });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'ACTION_NOT_ALLOWED', status: 409, details: { state: 'Stopped' } });
    const resized = await gql(
      admin,
      `mutation($t: ID!) { updateVm(tenant: $t, name: "gql-1", input: { instanceType: "medium" }) { cpu memoryGi instanceType } }`,
      { t: tenant },
    );
    expect(resized.data.updateVm).toEqual({ cpu: 2, memoryGi: 4, instanceType: 'medium' });
    expect((await mutate(admin, 'deleteVm', tenant, 'gql-1')).status).toBe('succeeded');
    expect((await gql(admin, `query($t: ID!) { vm(tenant: $t, name: "gql-1") { name } }`, { t: tenant })).errors?.[0]?.extensions.code).toBe(
      'VM_NOT_FOUND',
    );
  });

  it('lists VMs with their images, the instance types a tenant may use, and nodes for admins only', async () => {
    const tenant = await rest.createTenant(admin, { profile: 'student' });
    for (const n of ['l-1', 'l-2', 'l-3']) {
      const r = await gql(admin, `mutation($t: ID!, $i: CreateVmInput!) { createVm(tenant: $t, input: $i) { id } }`, {
        t: tenant,
        i: input(n, { running: false }),
      });
      await rest.settle(admin, r.data.createVm.id);
    }
    const list = await gql(admin, `query($t: ID!) { vms(tenant: $t, limit: 2) { items { name state image { name } } nextCursor } }`, { t: tenant });
    expect(list.data.vms.items).toEqual([
      { name: 'l-1', state: 'Stopped', image: { name: 'ubuntu-24-04' } },
      { name: 'l-2', state: 'Stopped', image: { name: 'ubuntu-24-04' } },
    ]);
    expect(list.data.vms.nextCursor).toEqual(expect.any(String));
    const types = await gql(admin, `query($t: ID) { instanceTypes(tenant: $t) { name cpu profiles } }`, { t: tenant });
    expect(types.data.instanceTypes.map((i: { name: string }) => i.name)).toEqual(['small', 'medium']);
    const all = await gql(admin, `{ instanceTypes { name } }`);
    expect(all.data.instanceTypes.map((i: { name: string }) => i.name)).toEqual(['small', 'medium', 'large', 'xlarge']);
    const nodes = await gql(admin, `{ nodes { name ready virtualMachines } }`);
    expect(nodes.data.nodes).toHaveLength(3);
    const olga = await t.bearer({ sub: 'olga' });
    expect((await gql(olga, `{ nodes { name } }`)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it("vmUpdated delivers a member only their own VMs' changes, without node names", async () => {
    const tenant = await rest.createTenant(admin);
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    const sam = await t.bearer({ sub: 'sam' });
    const events: Array<{ deleted: boolean; vm: { name: string; state: string; nodeName: string | null; image: { name: string } | null } }> = [];
    const ws = new WebSocket(`${base.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: sam } })));
      ws.on('error', reject);
      ws.on('message', (raw) => {
        const msg = JSON.parse(String(raw)) as { type: string; payload?: any };
        if (msg.type === 'connection_ack') resolve();
        if (msg.type === 'next') events.push(msg.payload.data.vmUpdated);
      });
    });
    ws.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: {
          query: `subscription($t: ID!) { vmUpdated(tenant: $t) { deleted vm { name state nodeName image { name } } } }`,
          variables: { t: tenant },
        },
      }),
    );
    // graphql-ws acknowledges no subscribe message, so no event says the subscription is in
    // place: a fixed wait lets the server register it before the VMs it must report change.
    await new Promise((r) => setTimeout(r, 200));
    await rest.createVm(admin, tenant, { ...input('sams', { owner: 'sam' }), labels: undefined });
    await rest.createVm(admin, tenant, { ...input('toms', { owner: 'tom' }), labels: undefined });
    await expect.poll(() => events.some((e) => e.vm.name === 'sams' && e.vm.state === 'Running'), { timeout: 5000 }).toBe(true);
    ws.close();
    expect(events.every((e) => e.vm.name === 'sams')).toBe(true);
    expect(events.every((e) => e.vm.nodeName === null)).toBe(true);
    expect(events.at(-1)).toMatchObject({ deleted: false, vm: { image: { name: 'ubuntu-24-04' } } });
  });
});

describe('Vm.image loader', () => {
  it('looks each distinct image up once for a whole page, whatever the number of VMs', async () => {
    const calls: string[] = [];
    const image = (name: string): Image => ({
      scope: 'platform',
      name,
      displayName: name,
      source: { type: 'http', url: 'https://example.org/x.img' },
      sizeGi: 10,
      storageClass: 'kv-standard',
      phase: 'Ready',
      progress: 100,
      importRestarts: 0,
      createdAt: new Date(0).toISOString(),
    });
    const loaders = vmLoaders({
      images: {
        get: async (_p, owner, name) => {
          calls.push(`${owner.scope}/${name}`);
          if (name === 'gone') throw new Error('not found');
          return image(name);
        },
      },
    });
    const parents = Array.from({ length: 50 }, (_, i) => ({
      obj: { tenant: 't1', imageRef: { scope: 'platform' as const, name: i % 2 === 0 ? 'ubuntu' : i === 49 ? 'gone' : 'debian' } },
    }));
    const results = await loaders.Vm.image(parents, { principal: makePrincipal({ id: 'a', platformAdmin: true }), authError: undefined });
    expect(calls.sort()).toEqual(['platform/debian', 'platform/gone', 'platform/ubuntu']);
    expect(results).toHaveLength(50);
    expect(results[0]?.name).toBe('ubuntu');
    expect(results[1]?.name).toBe('debian');
    expect(results[49]).toBeNull();
  });
});
