import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../support/test-app.js';
import { dataVolumes, DV, emulatorOf, expectProblem, imageName, newTenant, startImagesApp } from './support.js';
import { eventually } from '../support/eventually.js';

let t: TestApp;
let admin: string;
const api = () => request(t.app.server);

beforeAll(async () => {
  t = await startImagesApp();
  admin = await t.bearer({ sub: 'admin-img', roles: ['platform-admin'] });
});
afterAll(async () => {
  await t?.close();
});

const HTTP = (file = 'disk.qcow2') => ({ type: 'http', url: `https://images.example.com/${file}` });

function importInto(auth: string, tenant: string | undefined, body: Record<string, unknown>) {
  return api()
    .post(tenant === undefined ? '/v1/images' : `/v1/tenants/${tenant}/images`)
    .set('authorization', auth)
    .send({ sizeGi: 5, ...body });
}

/** Polls the operation until it ends; returns it and every progress figure seen on the way. */
async function finish(auth: string, id: string): Promise<{ op: Record<string, any>; seen: number[] }> {
  const seen: number[] = [];
  const op = await eventually(
    async () => {
      const res = await api().get(`/v1/operations/${id}`).set('authorization', auth);
      expect(res.status).toBe(200);
      seen.push(res.body.progress.percent as number);
      return ['succeeded', 'failed', 'canceled'].includes(res.body.status as string) ? (res.body as Record<string, any>) : undefined;
    },
    10_000,
    `operation ${id} to finish`,
  );
  return { op, seen };
}

describe('images over REST', () => {
  it('the seeded golden image is Ready, and every signed-in caller may read the platform catalog', async () => {
    const nobody = await t.bearer({ sub: 'no-tenants' });
    const list = await api().get('/v1/images').set('authorization', nobody);
    expect(list.status).toBe(200);
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ scope: 'platform', name: 'ubuntu-24-04', phase: 'Ready', progress: 100, storageClass: 'kv-standard' }),
    );
    const one = await api().get('/v1/images/ubuntu-24-04').set('authorization', nobody);
    expect(one.body).toMatchObject({ name: 'ubuntu-24-04', source: { type: 'http', hasCredentials: false } });
    expect((await api().get('/v1/images')).status).toBe(401);
  });

  it('the simulated cluster is seeded with a faculty tenant `demo` owned by `demo-owner`', async () => {
    const owner = await t.bearer({ sub: 'demo-owner' });
    const demo = await api().get('/v1/tenants/demo').set('authorization', owner);
    expect(demo.body).toMatchObject({ id: 'demo', profile: 'faculty' });
    expect((await api().get('/v1/tenants/demo/members').set('authorization', owner)).body.items).toContainEqual(
      expect.objectContaining({ principalId: 'demo-owner', role: 'owner' }),
    );
    expect((await api().get('/v1/tenants/demo/images').set('authorization', owner)).status).toBe(200);
  });

  it('an owner imports a tenant image: 202 with the operation, its progress rises, it succeeds and the image is Ready with its PVC', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    const res = await importInto(olga, tenant, {
      name,
      displayName: 'Fedora 40',
      os: 'fedora-40',
      source: HTTP(),
      storageClass: 'kv-premium-retain',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.headers['operation-location']).toBe(`/v1/operations/${res.body.id}`);
    expect(res.body).toMatchObject({ kind: 'image.import', tenant, target: { type: 'image', id: `tenants/${tenant}/images/${name}`, name } });
    const { op, seen } = await finish(olga, res.body.id as string);
    expect(op).toMatchObject({ status: 'succeeded', progress: { percent: 100 }, result: { image: name, phase: 'Ready' } });
    expect(
      seen.some((p) => p > 1 && p < 100),
      `progress seen: ${seen.join(',')}`,
    ).toBe(true);
    const image = await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga);
    expect(image.body).toMatchObject({
      scope: 'tenant',
      tenant,
      name,
      displayName: 'Fedora 40',
      os: 'fedora-40',
      sizeGi: 5,
      storageClass: 'kv-premium-retain',
      phase: 'Ready',
      progress: 100,
    });
    expect(emulatorOf(t).store.get('persistentvolumeclaims', tenant, name)?.status).toMatchObject({ phase: 'Bound' });
  });

  it('a failing import ends the operation failed with CDI’s reason, and the image shows Failed', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    const res = await importInto(olga, tenant, { name, source: HTTP('sim-fail.img') });
    const { op } = await finish(olga, res.body.id as string);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'IMAGE_IMPORT_FAILED', status: 422 } });
    expect(op.error.detail).toContain('404 Not Found');
    const image = await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga);
    expect(image.body).toMatchObject({ phase: 'Failed', failureReason: expect.stringContaining('404') });
  });

  it('an importer pod that keeps restarting fails the operation with the number of restarts', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const res = await importInto(olga, tenant, { name: imageName(), source: HTTP('sim-crash.img') });
    const { op } = await finish(olga, res.body.id as string);
    expect(op).toMatchObject({ status: 'failed', error: { code: 'IMAGE_IMPORT_FAILED' } });
    expect(op.error.detail).toMatch(/restarted \d+ times/);
  });

  it('the SSRF guard refuses hostile URLs with 422 URL_NOT_ALLOWED and the reason, before anything is written', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const hostile: Array<[string, string]> = [
      ['http', 'http://169.254.169.254/latest/meta-data/'],
      ['http', 'https://169.254.169.254/latest/meta-data/'],
      ['http', 'https://168.63.129.16/machine'],
      ['http', 'https://127.0.0.1/disk.img'],
      ['http', 'https://localhost/disk.img'],
      ['http', 'https://[::1]/disk.img'],
      ['http', 'https://2130706433/disk.img'],
      ['http', 'https://0177.0.0.1/disk.img'],
      ['http', 'https://0x7f000001/disk.img'],
      ['http', 'https://[::ffff:169.254.169.254]/disk.img'],
      ['http', 'https://[fe80::1]/disk.img'],
      ['http', 'https://10.0.0.8/disk.img'],
      ['http', 'https://192.168.1.20/disk.img'],
      ['http', 'https://kubernetes.default.svc/api'],
      ['http', 'https://cdi-api.cdi.svc.cluster.local/disk.img'],
      ['http', 'https://images.example.com@127.0.0.1/disk.img'],
      ['http', 'https://intranet-mirror.example.com/disk.img'],
      ['http', 'https://metadata-alias.example.com/disk.img'],
      ['http', 'https://rebind.example.com/disk.img'],
      ['http', 'https://unknown-host.example.com/disk.img'],
      ['http', 'ftp://images.example.com/disk.img'],
      ['http', 'file:///etc/passwd'],
      ['http', 'docker://quay.io/fedora:40'],
      ['registry', 'https://quay.io/fedora:40'],
      ['registry', 'docker://127.0.0.1:5000/evil:latest'],
      ['registry', 'docker://registry.kube-system.svc/evil'],
      ['registry', 'docker://10.1.2.3/evil'],
    ];
    const before = dataVolumes(emulatorOf(t));
    for (const [type, url] of hostile) {
      const res = await importInto(olga, tenant, { name: imageName('ssrf'), source: { type, url } });
      expectProblem(res, 422, 'URL_NOT_ALLOWED');
      expect(typeof res.body.details?.reason, url).toBe('string');
    }
    const s3 = await importInto(olga, tenant, {
      name: imageName('ssrf'),
      source: { type: 's3', url: 's3://169.254.169.254/key', secretRef: { name: 'creds' } },
    });
    expectProblem(s3, 422, 'URL_NOT_ALLOWED');
    expect(dataVolumes(emulatorOf(t))).toEqual(before);
    const ops = await api().get('/v1/operations').query({ tenant, kind: 'image.import' }).set('authorization', admin);
    expect(ops.body.items).toEqual([]);
  });

  it('plain http is accepted only for hosts on the admin allow-list', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const refused = await importInto(olga, tenant, { name: imageName(), source: { type: 'http', url: 'http://images.example.com/disk.img' } });
    expectProblem(refused, 422, 'URL_NOT_ALLOWED');
    expect(refused.body.details.reason).toMatch(/allow-listed/);
    const allowed = await importInto(olga, tenant, { name: imageName(), source: { type: 'http', url: 'http://mirror.example.edu/disk.img' } });
    expect(allowed.status).toBe(202);
  });

  it('an import the tenant’s storage quota cannot hold is 409 QUOTA_EXCEEDED with what is needed and left, and writes nothing', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const before = dataVolumes(emulatorOf(t));
    const res = await importInto(olga, tenant, { name: imageName(), source: HTTP(), sizeGi: 300 });
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details.shortfalls).toEqual([{ resource: 'storageGi', needed: 300, left: 250, limit: 250 }]);
    expect(dataVolumes(emulatorOf(t))).toEqual(before);
    expect((await api().get('/v1/operations').query({ tenant }).set('authorization', admin)).body.items).toEqual([]);
  });

  it('another tenant’s images answer 404, for reads and writes alike', async () => {
    const theirs = await newTenant(t, admin, 'olga');
    await newTenant(t, admin, 'eve');
    const eve = await t.bearer({ sub: 'eve' });
    expectProblem(await api().get(`/v1/tenants/${theirs}/images`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
    expectProblem(await api().get(`/v1/tenants/${theirs}/images/anything`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
    expectProblem(await importInto(eve, theirs, { name: imageName(), source: HTTP() }), 404, 'TENANT_NOT_FOUND');
    expectProblem(await api().delete(`/v1/tenants/${theirs}/images/anything`).set('authorization', eve), 404, 'TENANT_NOT_FOUND');
  });

  it('a member may read the tenant’s images but not import or delete them', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    await finish(olga, (await importInto(olga, tenant, { name, source: HTTP() })).body.id as string);
    const bob = await t.bearer({ sub: 'bob', tenants: { [tenant]: 'member' } });
    expect((await api().get(`/v1/tenants/${tenant}/images`).set('authorization', bob)).body.items.map((i: { name: string }) => i.name)).toEqual([
      name,
    ]);
    expect((await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', bob)).status).toBe(200);
    expectProblem(await importInto(bob, tenant, { name: imageName(), source: HTTP() }), 403, 'FORBIDDEN');
    expectProblem(await api().delete(`/v1/tenants/${tenant}/images/${name}`).set('authorization', bob), 403, 'FORBIDDEN');
  });

  it('only platform admins write the platform catalog; their imports are tenantless operations', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    expect(tenant).toBeTruthy();
    expectProblem(await importInto(olga, undefined, { name: imageName(), source: HTTP() }), 403, 'FORBIDDEN');
    expectProblem(await api().delete('/v1/images/ubuntu-24-04').set('authorization', olga), 403, 'FORBIDDEN');
    const name = imageName('cat');
    const res = await importInto(admin, undefined, { name, source: { type: 'registry', url: 'docker://quay.io/containerdisks/fedora:40' } });
    expect(res.status).toBe(202);
    expect(res.body.tenant).toBeUndefined();
    expect((await finish(admin, res.body.id as string)).op.status).toBe('succeeded');
    const image = await api().get(`/v1/images/${name}`).set('authorization', olga);
    expect(image.body).toMatchObject({
      scope: 'platform',
      phase: 'Ready',
      source: { type: 'registry', url: 'docker://quay.io/containerdisks/fedora:40' },
    });
    expect(emulatorOf(t).store.get(DV, 'labplane-images', name)).toBeDefined();
  });

  it('a taken name is 409 IMAGE_EXISTS', async () => {
    expectProblem(await importInto(admin, undefined, { name: 'ubuntu-24-04', source: HTTP() }), 409, 'IMAGE_EXISTS');
  });

  it('an S3 import shows that it has credentials but never the Secret’s name', async () => {
    const tenant = await newTenant(t, admin, 'olga', 'faculty');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    const res = await importInto(olga, tenant, {
      name,
      source: { type: 's3', url: 's3://lab-images/rocky-9.qcow2', secretRef: { name: 'very-secret-creds' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(JSON.stringify(res.body)).not.toContain('very-secret-creds');
    await finish(olga, res.body.id as string);
    const image = await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga);
    expect(image.body.source).toEqual({ type: 's3', url: 's3://lab-images/rocky-9.qcow2', hasCredentials: true });
    expect(JSON.stringify(image.body)).not.toContain('very-secret-creds');
    expect(JSON.stringify((await api().get(`/v1/operations/${res.body.id}`).set('authorization', olga)).body)).not.toContain('very-secret-creds');
    expect(emulatorOf(t).store.get(DV, tenant, name)?.spec).toMatchObject({ source: { s3: { secretRef: 'very-secret-creds' } } });
  });

  it('an image in use by a VM cannot be deleted (409 IMAGE_IN_USE with the count); once unused, delete answers 204 and the DataVolume and PVC go', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    await finish(olga, (await importInto(olga, tenant, { name, source: HTTP() })).body.id as string);
    const em = emulatorOf(t);
    const vm = (vmName: string, ns: string, scope: string, image: string) =>
      em.store.create('virtualmachines.kubevirt.io', {
        apiVersion: 'kubevirt.io/v1',
        kind: 'VirtualMachine',
        metadata: { name: vmName, namespace: ns, labels: { 'labplane.io/image-scope': scope, 'labplane.io/image': image } },
        spec: { runStrategy: 'Halted', template: { spec: { domain: { devices: {} } } } },
      });
    vm('vm-1', tenant, 'tenant', name);
    vm('vm-2', tenant, 'tenant', name);
    const refused = await api().delete(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga);
    expectProblem(refused, 409, 'IMAGE_IN_USE');
    expect(refused.body.details).toEqual({ virtualMachines: 2 });
    expect(em.store.get(DV, tenant, name)).toBeDefined();
    em.store.delete('virtualmachines.kubevirt.io', tenant, 'vm-1');
    em.store.delete('virtualmachines.kubevirt.io', tenant, 'vm-2');
    expect((await api().delete(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga)).status).toBe(204);
    expectProblem(await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga), 404, 'IMAGE_NOT_FOUND');
    expect(em.store.get(DV, tenant, name)).toBeUndefined();
    await expect.poll(() => em.store.get('persistentvolumeclaims', tenant, name), { timeout: 3000 }).toBeUndefined();

    vm('vm-3', tenant, 'platform', 'ubuntu-24-04');
    const platform = await api().delete('/v1/images/ubuntu-24-04').set('authorization', admin);
    expectProblem(platform, 409, 'IMAGE_IN_USE');
    expect(platform.body.details).toEqual({ virtualMachines: 1 });
    em.store.delete('virtualmachines.kubevirt.io', tenant, 'vm-3');
  });

  it('GET and list of images are served from the cache and cost the API server nothing', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const name = imageName();
    await finish(olga, (await importInto(olga, tenant, { name, source: HTTP() })).body.id as string);
    const em = emulatorOf(t);
    const before = em.requestCount({ method: 'GET' });
    for (let i = 0; i < 10; i++) {
      expect((await api().get(`/v1/tenants/${tenant}/images/${name}`).set('authorization', olga)).status).toBe(200);
      expect((await api().get(`/v1/tenants/${tenant}/images`).set('authorization', olga)).status).toBe(200);
      expect((await api().get('/v1/images').set('authorization', olga)).status).toBe(200);
      expect((await api().get('/v1/images/ubuntu-24-04').set('authorization', olga)).status).toBe(200);
    }
    expect(em.requestCount({ method: 'GET' })).toBe(before);
  });

  it('lists page with limit and cursor, and filter by phase', async () => {
    const tenant = await newTenant(t, admin, 'olga', 'faculty');
    const olga = await t.bearer({ sub: 'olga' });
    const names = ['aa', 'bb', 'cc', 'dd'].map((p) => imageName(p));
    const ops = await Promise.all(
      names.map(async (name, i) => (await importInto(olga, tenant, { name, source: HTTP(i === 3 ? 'sim-fail.img' : 'disk.img') })).body.id as string),
    );
    for (const id of ops) await finish(olga, id);
    const first = await api().get(`/v1/tenants/${tenant}/images`).query({ limit: 3 }).set('authorization', olga);
    expect(first.body.items.map((i: { name: string }) => i.name)).toEqual(names.slice(0, 3));
    const second = await api().get(`/v1/tenants/${tenant}/images`).query({ limit: 3, cursor: first.body.nextCursor }).set('authorization', olga);
    expect(second.body.items.map((i: { name: string }) => i.name)).toEqual(names.slice(3));
    expect(second.body.nextCursor).toBeUndefined();
    const failed = await api().get(`/v1/tenants/${tenant}/images`).query({ phase: 'Failed' }).set('authorization', olga);
    expect(failed.body.items.map((i: { name: string }) => i.name)).toEqual([names[3]]);
    expectProblem(await api().get(`/v1/tenants/${tenant}/images`).query({ phase: 'Broken' }).set('authorization', olga), 400, 'VALIDATION_FAILED');
  });

  it('malformed imports are 400 and name the offending fields', async () => {
    const tenant = await newTenant(t, admin, 'olga');
    const olga = await t.bearer({ sub: 'olga' });
    const cases: Array<Record<string, unknown>> = [
      { name: 'Bad_Name', source: HTTP() },
      { name: 'a'.repeat(55), source: HTTP() },
      { name: imageName(), source: HTTP(), sizeGi: 0 },
      { name: imageName(), source: HTTP(), storageClass: 'gold' },
      { name: imageName(), source: HTTP(), extra: true },
      { name: imageName(), source: { type: 's3', url: 's3://bucket/key' } },
      { name: imageName(), source: { type: 'http', url: 'https://images.example.com/x', secretRef: { name: 'x' } } },
    ];
    for (const body of cases) expectProblem(await importInto(olga, tenant, body), 400, 'VALIDATION_FAILED');
  });
});
