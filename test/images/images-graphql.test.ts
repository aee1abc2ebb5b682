import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/test-app.js';
import { dataVolumes, emulatorOf, imageName, newTenant, startImagesApp } from './support.js';
import { eventually } from '../support/eventually.js';

let t: TestApp;
let admin: string;

beforeAll(async () => {
  t = await startImagesApp();
  admin = await t.bearer({ sub: 'admin-img-gql', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

type GqlError = { message: string; extensions: { code: string; status: number; details?: Record<string, unknown> } };

async function gql(auth: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const req = request(t.app.server).post('/graphql').send({ query, variables });
  if (auth !== undefined) req.set('authorization', auth);
  const res = await req;
  return res.body as { data: any; errors?: GqlError[] };
}

const IMPORT = `mutation($tenant: ID, $input: ImportImageInput!) { importImage(tenant: $tenant, input: $input) { id kind status tenant target { id name } } }`;
const OPERATION = `query($id: ID!) { operation(id: $id) { status progress { percent } error { code detail } } }`;
const IMAGE = `query($name: ID!, $tenant: ID) { image(name: $name, tenant: $tenant) { scope tenant name displayName phase progress sizeGi storageClass failureReason source { type url hasCredentials } } }`;

async function finish(
  auth: string,
  id: string,
): Promise<{ status: string; progress: { percent: number }; error: { code: string; detail: string } | null }> {
  return eventually(
    async () => {
      const op = (await gql(auth, OPERATION, { id })).data.operation;
      return ['succeeded', 'failed', 'canceled'].includes(op.status as string) ? op : undefined;
    },
    10_000,
    `operation ${id} to finish`,
  );
}

describe('images over GraphQL', () => {
  it('imports a tenant image through the same use case as REST, and reads it Ready', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName('gql');
    const started = await gql(olga, IMPORT, {
      tenant,
      input: { name, displayName: 'Debian 12', source: { type: 'http', url: 'https://images.example.com/debian.qcow2' }, sizeGi: 4 },
    });
    expect(started.errors).toBeUndefined();
    expect(started.data.importImage).toMatchObject({ kind: 'image.import', tenant, target: { id: `tenants/${tenant}/images/${name}`, name } });
    expect(await finish(olga, started.data.importImage.id as string)).toMatchObject({ status: 'succeeded', progress: { percent: 100 } });
    const read = await gql(olga, IMAGE, { name, tenant });
    expect(read.data.image).toEqual({
      scope: 'tenant',
      tenant,
      name,
      displayName: 'Debian 12',
      phase: 'Ready',
      progress: 100,
      sizeGi: 4,
      storageClass: 'kv-standard',
      failureReason: null,
      source: { type: 'http', url: 'https://images.example.com/debian.qcow2', hasCredentials: false },
    });
    const list = await gql(olga, `query($tenant: ID!) { tenantImages(tenant: $tenant) { items { name } nextCursor } }`, { tenant });
    expect(list.data.tenantImages).toEqual({ items: [{ name }], nextCursor: null });
  });

  it('lists the platform catalog for any signed-in caller, with the phase filter', async () => {
    const nobody = await t.bearer({ sub: 'nobody' });
    const res = await gql(nobody, `{ images(phase: Ready) { items { name phase scope } } }`);
    expect(res.data.images.items).toContainEqual({ name: 'ubuntu-24-04', phase: 'Ready', scope: 'platform' });
    expect((await gql(nobody, IMAGE, { name: 'ubuntu-24-04' })).data.image).toMatchObject({ scope: 'platform', tenant: null, phase: 'Ready' });
    expect((await gql(undefined, `{ images { items { name } } }`)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('a failed import ends the operation failed with the reason, and the image carries it', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName('gql');
    const started = await gql(olga, IMPORT, {
      tenant,
      input: { name, source: { type: 'http', url: 'https://images.example.com/sim-fail.qcow2' }, sizeGi: 2 },
    });
    const op = await finish(olga, started.data.importImage.id as string);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'IMAGE_IMPORT_FAILED' } });
    expect(op.error?.detail).toContain('404');
    expect((await gql(olga, IMAGE, { name, tenant })).data.image).toMatchObject({ phase: 'Failed', failureReason: expect.stringContaining('404') });
  });

  it('carries the REST refusals in extensions.code: SSRF, forbidden, hidden tenant, quota, in use', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const before = dataVolumes(emulatorOf(t));
    const ssrf = await gql(olga, IMPORT, {
      tenant,
      input: { name: imageName('gql'), source: { type: 'http', url: 'https://0x7f000001/disk.img' }, sizeGi: 1 },
    });
    expect(ssrf.errors?.[0]?.extensions).toMatchObject({ code: 'URL_NOT_ALLOWED', status: 422 });
    const quota = await gql(olga, IMPORT, {
      tenant,
      input: { name: imageName('gql'), source: { type: 'http', url: 'https://images.example.com/big.img' }, sizeGi: 1000 },
    });
    expect(quota.errors?.[0]?.extensions).toMatchObject({ code: 'QUOTA_EXCEEDED', status: 409 });
    expect(dataVolumes(emulatorOf(t))).toEqual(before);
    const platform = await gql(olga, IMPORT, {
      input: { name: imageName('gql'), source: { type: 'http', url: 'https://images.example.com/a.img' }, sizeGi: 1 },
    });
    expect(platform.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const eve = await t.bearer({ sub: 'eve-gql' });
    expect(
      (await gql(eve, `query($tenant: ID!) { tenantImages(tenant: $tenant) { items { name } } }`, { tenant })).errors?.[0]?.extensions.code,
    ).toBe('TENANT_NOT_FOUND');
    const s3NoSecret = await gql(olga, IMPORT, { tenant, input: { name: imageName('gql'), source: { type: 's3', url: 's3://b/k' }, sizeGi: 1 } });
    expect(s3NoSecret.errors?.[0]?.extensions.code).toBe('VALIDATION_FAILED');
    emulatorOf(t).store.create('virtualmachines.kubevirt.io', {
      apiVersion: 'kubevirt.io/v1',
      kind: 'VirtualMachine',
      metadata: { name: 'uses-ubuntu', namespace: tenant, labels: { 'labplane.io/image-scope': 'platform', 'labplane.io/image': 'ubuntu-24-04' } },
      spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
    });
    const inUse = await gql(admin, `mutation { deleteImage(name: "ubuntu-24-04") }`);
    expect(inUse.errors?.[0]?.extensions).toMatchObject({ code: 'IMAGE_IN_USE', status: 409 });
    emulatorOf(t).store.delete('virtualmachines.kubevirt.io', tenant, 'uses-ubuntu');
  });

  it('deletes a tenant image', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName('gql');
    const started = await gql(olga, IMPORT, {
      tenant,
      input: { name, source: { type: 'registry', url: 'docker://quay.io/containerdisks/centos-stream:9' }, sizeGi: 3 },
    });
    await finish(olga, started.data.importImage.id as string);
    expect(
      (await gql(olga, `mutation($name: ID!, $tenant: ID) { deleteImage(name: $name, tenant: $tenant) }`, { name, tenant })).data.deleteImage,
    ).toBe(true);
    expect((await gql(olga, IMAGE, { name, tenant })).errors?.[0]?.extensions.code).toBe('IMAGE_NOT_FOUND');
  });
});
