import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labRecordOf, type LabObject } from '../../src/adapters/kubernetes/lab-objects.js';
import type { LabRecord } from '../../src/domain/labs/lab.js';
import { DEFAULT_AUTO_SHUTDOWN_PROFILE } from '../../src/domain/usage/auto-shutdown.js';
import { DEFAULT_LAB_COST_CONTROLS } from '../../src/domain/usage/cost-controls.js';
import { createLabMaintenance } from '../../src/jobs/lab-maintenance.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../vms/support.js';
import { labBody, labClient, person, personId } from './support.js';

let t: TestApp;
let admin: string;
let olga: string;
let sam: string;
let rest: ReturnType<typeof labClient>;

beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  admin = await t.bearer({ sub: 'admin-cost', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  sam = await t.bearer({ sub: 'sam' });
  rest = labClient(t);
});
afterAll(async () => {
  await t?.close();
});

const labUrl = (tenant: string, lab: string) => `/v1/tenants/${tenant}/labs/${lab}`;
const hoursUrl = (tenant: string, lab: string, student: string) => `${labUrl(tenant, lab)}/students/${student}/usage-hours`;
const LOW_USAGE = {
  shutdownOnDisconnect: { enabled: false, delay: 'PT30M' },
  shutdownWhenNotConnected: { enabled: true, delay: 'PT1H' },
  shutdownOnIdle: { mode: 'lowUsage', delay: 'PT20M', thresholds: { cpuCores: 0.25, networkBytesPerSecond: 5000, diskBytesPerSecond: 50000 } },
};
/** The JSON form of the defaults a new lab gets (no quota, no added hours). */
const DEFAULTS = JSON.parse(JSON.stringify(DEFAULT_LAB_COST_CONTROLS)) as Record<string, unknown>;

/** The Lab object as the (emulated) API server stores it, after the CRD's pruning. */
function storedLab(tenant: string, name: string): LabObject {
  const obj = t.deps.emulator?.store.get('labs.labplane.io', tenant, name);
  if (obj === undefined) throw new Error(`no Lab ${tenant}/${name}`);
  return obj as unknown as LabObject;
}

/** Two passes of the real housekeeping over the stored lab: whether it would start a sync for it. */
async function housekeepingWouldSync(tenant: string, name: string): Promise<boolean> {
  const asked: LabRecord[] = [];
  const warnings: unknown[] = [];
  const maintenance = createLabMaintenance({
    labs: { list: async () => [labRecordOf(storedLab(tenant, name))] },
    vmRepo: { list: async () => [] },
    vms: { delete: async () => Promise.reject(new Error('no VM is deleted here')) },
    reconcile: async (lab) => {
      asked.push(lab);
      return true;
    },
    clock: { now: () => new Date() },
    logger: { info: () => undefined, warn: (facts) => warnings.push(facts), error: (facts) => warnings.push(facts) },
  });
  await maintenance.tick();
  await maintenance.tick();
  expect(warnings).toEqual([]);
  return asked.length > 0;
}

async function labWithStudents(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const tenant = await rest.createTenant(admin);
  await rest.createLab(olga, tenant, labBody(name, { students: [person(1), person(2)], ...extra }));
  return tenant;
}

describe('lab cost controls over REST', () => {
  it('a new lab gets Azure Lab Services’ defaults (all three auto-shutdown settings on), stored in the Lab object', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('plain'));
    const got = await rest.lab(olga, tenant, 'plain');
    expect(got.body.costControls).toEqual(DEFAULTS);
    expect(got.body.costControls.autoShutdown).toEqual(DEFAULT_AUTO_SHUTDOWN_PROFILE);
    expect(storedLab(tenant, 'plain').spec?.costControls).toEqual(DEFAULTS);
  });

  it('create takes the given parts over the defaults, and they survive the CRD schema', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(
      olga,
      tenant,
      labBody('given', { costControls: { autoShutdown: LOW_USAGE, warningPeriod: 'PT10M', exemptClassHours: false, usageQuotaHours: 12.5 } }),
    );
    const expected = { autoShutdown: LOW_USAGE, warningPeriod: 'PT10M', exemptClassHours: false, usageQuotaHours: 12.5, addedHours: {} };
    expect((await rest.lab(olga, tenant, 'given')).body.costControls).toEqual(expected);
    expect(storedLab(tenant, 'given').spec?.costControls).toEqual(expected);
  });

  it('refuses bad cost controls with 400 naming each field, and addedHours (read-only)', async () => {
    const tenant = await rest.createTenant(admin);
    const bad = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', olga)
      .send(
        labBody('bad', {
          costControls: {
            autoShutdown: { ...LOW_USAGE, shutdownOnIdle: { mode: 'lowUsage', delay: 'PT1M' } },
            warningPeriod: 'PT2H',
            usageQuotaHours: 1.1,
          },
        }),
      );
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      '/costControls/autoShutdown/shutdownOnIdle/delay',
      '/costControls/usageQuotaHours',
      '/costControls/warningPeriod',
    ]);
    const added = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', olga)
      .send(labBody('bad', { costControls: { addedHours: { [personId(1)]: 5 } } }));
    expect(added.status, JSON.stringify(added.body)).toBe(400);
    expect(added.body.errors.map((e: { field: string }) => e.field)).toContain('/costControls/addedHours');
    const incomplete = await rest
      .api()
      .post(`/v1/tenants/${tenant}/labs`)
      .set('authorization', olga)
      .send(labBody('bad', { costControls: { autoShutdown: { shutdownOnDisconnect: { enabled: true, delay: 'PT15M' } } } }));
    expect(incomplete.status).toBe(400);
    expect((await rest.lab(olga, tenant, 'bad')).status).toBe(404);
  });

  it('a PATCH changes only the given parts (added hours kept, null removes the quota) and starts no sync', async () => {
    const tenant = await labWithStudents('patched', { costControls: { usageQuotaHours: 10 } });
    const before = (await rest.lab(olga, tenant, 'patched')).body;
    const add = await rest
      .api()
      .post(hoursUrl(tenant, 'patched', personId(1)))
      .set('authorization', olga)
      .send({ hours: 1.5 });
    expect(add.status, JSON.stringify(add.body)).toBe(200);

    const patched = await rest
      .api()
      .patch(labUrl(tenant, 'patched'))
      .set('authorization', olga)
      .send({ costControls: { warningPeriod: 'PT0S', exemptClassHours: false } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.costControls).toEqual({
      ...DEFAULTS,
      warningPeriod: 'PT0S',
      exemptClassHours: false,
      usageQuotaHours: 10,
      addedHours: { [personId(1)]: 1.5 },
    });
    expect(patched.body.lastOperationId).toBe(before.lastOperationId);

    const noQuota = await rest
      .api()
      .patch(labUrl(tenant, 'patched'))
      .set('authorization', olga)
      .send({ costControls: { usageQuotaHours: null } });
    expect(noQuota.status, JSON.stringify(noQuota.body)).toBe(200);
    expect(noQuota.body.costControls).not.toHaveProperty('usageQuotaHours');
    expect(noQuota.body.costControls.addedHours).toEqual({ [personId(1)]: 1.5 });

    const stored = storedLab(tenant, 'patched');
    expect(stored.metadata?.generation).toBeGreaterThan(1);
    expect(stored.status?.observedGeneration).toBe(stored.metadata?.generation);
    expect(stored.status?.lastOperationId).toBe(before.lastOperationId);
    expect(await housekeepingWouldSync(tenant, 'patched')).toBe(false);

    // The control: a change no sync marks as seen is picked up by the same housekeeping.
    const renamed = await rest.api().patch(labUrl(tenant, 'patched')).set('authorization', olga).send({ displayName: 'Renamed' });
    expect(renamed.status).toBe(200);
    expect(await housekeepingWouldSync(tenant, 'patched')).toBe(true);
  });

  it('a Lab written to the cluster with only a profile gets the other parts from the CRD’s defaults', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('gitops'));
    const url = `${t.deps.emulator?.url ?? ''}/apis/labplane.io/v1alpha1/namespaces/${tenant}/labs/gitops`;
    const obj = (await (await fetch(url)).json()) as LabObject;
    const put = await fetch(url, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...obj, spec: { ...obj.spec, costControls: { autoShutdown: LOW_USAGE } } }),
    });
    expect(put.status).toBe(200);
    await expect
      .poll(async () => (await rest.lab(olga, tenant, 'gitops')).body.costControls)
      .toEqual({ autoShutdown: LOW_USAGE, warningPeriod: 'PT5M', exemptClassHours: true, addedHours: {} });
  });

  it('refuses addedHours and bad values on PATCH with 400, changing nothing', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('strict'));
    const version = (await rest.lab(olga, tenant, 'strict')).body.version;
    for (const costControls of [{ addedHours: {} }, { warningPeriod: 'soon' }, { exemptClassHours: 'yes' }, { usageQuotaHours: -1 }]) {
      const res = await rest.api().patch(labUrl(tenant, 'strict')).set('authorization', olga).send({ costControls });
      expect(res.status, JSON.stringify(costControls)).toBe(400);
      expect(res.body.errors[0].field).toMatch(/^\/costControls\//);
    }
    expect((await rest.lab(olga, tenant, 'strict')).body.version).toBe(version);
  });
});

describe('instructors’ added hours', () => {
  it('adds hours to a student, shows them on the lab, and leaves an audit event', async () => {
    const tenant = await labWithStudents('hours');
    const res = await rest
      .api()
      .post(hoursUrl(tenant, 'hours', personId(2).toUpperCase()))
      .set('authorization', olga)
      .send({ hours: 2.25 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ student: personId(2), addedHours: 2.25 });
    const back = await rest
      .api()
      .post(hoursUrl(tenant, 'hours', personId(2)))
      .set('authorization', olga)
      .send({ hours: -0.25 });
    expect(back.body).toEqual({ student: personId(2), addedHours: 2 });
    expect((await rest.lab(olga, tenant, 'hours')).body.costControls.addedHours).toEqual({ [personId(2)]: 2 });
    expect(await housekeepingWouldSync(tenant, 'hours')).toBe(false);

    await expect
      .poll(
        async () => {
          const audit = await rest.api().get(`/v1/audit?tenant=${tenant}`).set('authorization', admin);
          return (audit.body.items as Array<{ action: string; target?: { type: string; id: string }; result: { status: number } }>).filter(
            (e) => e.action === 'addLabUsageHours',
          );
        },
        { timeout: 5000, interval: 50 },
      )
      .toEqual([
        expect.objectContaining({ target: { type: 'lab', id: 'hours' }, result: { status: 200 } }),
        expect.objectContaining({ target: { type: 'lab', id: 'hours' }, result: { status: 200 } }),
      ]);
  });

  it('never loses one of two concurrent additions', async () => {
    const tenant = await labWithStudents('race');
    const [a, b] = await Promise.all([
      rest
        .api()
        .post(hoursUrl(tenant, 'race', personId(1)))
        .set('authorization', olga)
        .send({ hours: 1 }),
      rest
        .api()
        .post(hoursUrl(tenant, 'race', personId(1)))
        .set('authorization', olga)
        .send({ hours: 2 }),
    ]);
    expect([a.status, b.status], JSON.stringify([a.body, b.body])).toEqual([200, 200]);
    expect([a.body.addedHours, b.body.addedHours].sort()).toEqual([expect.any(Number), 3]);
    expect((await rest.lab(olga, tenant, 'race')).body.costControls.addedHours).toEqual({ [personId(1)]: 3 });
  });

  it('keeps a student’s total within 0 and 2000 (422), refuses other than quarters (400), and 404s a student off the roster', async () => {
    const tenant = await labWithStudents('bounds');
    const below = await rest
      .api()
      .post(hoursUrl(tenant, 'bounds', personId(1)))
      .set('authorization', olga)
      .send({ hours: -1 });
    expectProblem(below, 422, 'ADDED_HOURS_OUT_OF_RANGE');
    expect(below.body.details).toMatchObject({ addedHours: 0, hours: -1, min: 0, max: 2000 });
    expect(
      (
        await rest
          .api()
          .post(hoursUrl(tenant, 'bounds', personId(1)))
          .set('authorization', olga)
          .send({ hours: 2000 })
      ).status,
    ).toBe(200);
    const above = await rest
      .api()
      .post(hoursUrl(tenant, 'bounds', personId(1)))
      .set('authorization', olga)
      .send({ hours: 0.25 });
    expectProblem(above, 422, 'ADDED_HOURS_OUT_OF_RANGE');
    for (const hours of [0, 0.1, 2001]) {
      const res = await rest
        .api()
        .post(hoursUrl(tenant, 'bounds', personId(2)))
        .set('authorization', olga)
        .send({ hours });
      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors[0].field).toBe('/hours');
    }
    expectProblem(
      await rest
        .api()
        .post(hoursUrl(tenant, 'bounds', personId(77)))
        .set('authorization', olga)
        .send({ hours: 1 }),
      404,
      'STUDENT_NOT_FOUND',
    );
    expectProblem(
      await rest
        .api()
        .post(hoursUrl(tenant, 'nolab', personId(1)))
        .set('authorization', olga)
        .send({ hours: 1 }),
      404,
      'LAB_NOT_FOUND',
    );
    expect((await rest.lab(olga, tenant, 'bounds')).body.costControls.addedHours).toEqual({ [personId(1)]: 2000 });
  });

  it('a lab made before cost controls existed answers 409 until they are set, then takes hours', async () => {
    const tenant = await labWithStudents('legacy');
    const store = t.deps.emulator?.store;
    if (store === undefined) throw new Error('no emulator');
    const obj = store.get('labs.labplane.io', tenant, 'legacy') as unknown as LabObject;
    const { costControls: _cc, ...spec } = obj.spec ?? ({} as NonNullable<LabObject['spec']>);
    store.update('labs.labplane.io', { ...obj, spec } as unknown as Parameters<typeof store.update>[1]);
    await expect.poll(async () => 'costControls' in (await rest.lab(olga, tenant, 'legacy')).body).toBe(false);

    expectProblem(
      await rest
        .api()
        .post(hoursUrl(tenant, 'legacy', personId(1)))
        .set('authorization', olga)
        .send({ hours: 1 }),
      409,
      'LAB_COST_CONTROLS_UNSET',
    );
    const set = await rest
      .api()
      .patch(labUrl(tenant, 'legacy'))
      .set('authorization', olga)
      .send({ costControls: { usageQuotaHours: 5 } });
    expect(set.body.costControls).toEqual({ ...DEFAULTS, usageQuotaHours: 5 });
    const res = await rest
      .api()
      .post(hoursUrl(tenant, 'legacy', personId(1)))
      .set('authorization', olga)
      .send({ hours: 1 });
    expect(res.body).toEqual({ student: personId(1), addedHours: 1 });
  });

  it('is for lab writers: a tenant member gets 403, an integration with labs.manage may', async () => {
    const tenant = await labWithStudents('perm');
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    expectProblem(
      await rest
        .api()
        .post(hoursUrl(tenant, 'perm', personId(1)))
        .set('authorization', sam)
        .send({ hours: 1 }),
      403,
      'FORBIDDEN',
    );
    const lms = await t.bearer({ sub: 'lms-integration', roles: ['labs.manage'], tenants: { [tenant]: 'member' } });
    const res = await rest
      .api()
      .post(hoursUrl(tenant, 'perm', personId(1)))
      .set('authorization', lms)
      .send({ hours: 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((await rest.lab(olga, tenant, 'perm')).body.costControls.addedHours).toEqual({ [personId(1)]: 1 });
  });
});

describe('tenant cost controls over REST', () => {
  it('create, PATCH and null round-trip through the namespace', async () => {
    const tenant = await rest.createTenant(admin, { costControls: { warningPeriod: 'PT10M' } });
    const created = await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', olga);
    expect(created.body.costControls).toEqual({ autoShutdown: DEFAULT_AUTO_SHUTDOWN_PROFILE, warningPeriod: 'PT10M' });

    const patched = await rest
      .api()
      .patch(`/v1/tenants/${tenant}`)
      .set('authorization', olga)
      .send({ costControls: { autoShutdown: LOW_USAGE } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.costControls).toEqual({ autoShutdown: LOW_USAGE, warningPeriod: 'PT10M' });
    expect((await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', olga)).body.costControls).toEqual({
      autoShutdown: LOW_USAGE,
      warningPeriod: 'PT10M',
    });

    const bad = await rest
      .api()
      .patch(`/v1/tenants/${tenant}`)
      .set('authorization', olga)
      .send({ costControls: { warningPeriod: 'PT3H' } });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors[0].field).toBe('/costControls/warningPeriod');
    expect(
      (
        await rest
          .api()
          .patch(`/v1/tenants/${tenant}`)
          .set('authorization', olga)
          .send({ costControls: { usageQuotaHours: 3 } })
      ).status,
    ).toBe(400);

    const removed = await rest.api().patch(`/v1/tenants/${tenant}`).set('authorization', olga).send({ costControls: null });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('costControls');
    expect((await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', olga)).body).not.toHaveProperty('costControls');
  });

  it('a malformed annotation reads as no cost controls, never a 500', async () => {
    const tenant = await rest.createTenant(admin, { costControls: {} });
    const store = t.deps.emulator?.store;
    const ns = store?.get('namespaces', undefined, tenant);
    if (store === undefined || ns === undefined) throw new Error('no namespace');
    const annotations = {
      ...(ns['metadata'] as { annotations?: Record<string, string> }).annotations,
      'labplane.io/cost-controls': '{"warningPeriod": 5',
    };
    store.update('namespaces', { ...ns, metadata: { ...(ns['metadata'] as object), annotations } });
    await expect
      .poll(async () => {
        const res = await rest.api().get(`/v1/tenants/${tenant}`).set('authorization', olga);
        return [res.status, 'costControls' in res.body];
      })
      .toEqual([200, false]);
  });
});

describe('cost controls over GraphQL', () => {
  type Gql = { data: any; errors?: Array<{ message: string; extensions: { code: string } }> };
  const gql = async (auth: string, query: string, variables: Record<string, unknown>): Promise<Gql> =>
    (await request(t.app.server).post('/graphql').set('authorization', auth).send({ query, variables })).body as Gql;
  const LAB_FIELDS = `costControls { warningPeriod exemptClassHours usageQuotaHours
    autoShutdown { shutdownOnDisconnect { enabled delay } shutdownOnIdle { mode delay thresholds { cpuCores } } }
    addedHours { student hours } }`;

  it('reads, updates and adds hours on a lab, and sets a tenant’s', async () => {
    const tenant = await labWithStudents('gql');
    const added = await gql(
      olga,
      'mutation($t: ID!, $s: ID!) { addLabUsageHours(tenant: $t, lab: "gql", student: $s, hours: 4) { student addedHours } }',
      {
        t: tenant,
        s: personId(2),
      },
    );
    expect(added).toEqual({ data: { addLabUsageHours: { student: personId(2), addedHours: 4 } } });

    const updated = await gql(
      olga,
      `mutation($t: ID!, $cc: LabCostControlsInput!) { updateLab(tenant: $t, name: "gql", input: { costControls: $cc }) { ${LAB_FIELDS} } }`,
      {
        t: tenant,
        cc: { autoShutdown: LOW_USAGE, usageQuotaHours: 6 },
      },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data.updateLab.costControls).toEqual({
      warningPeriod: 'PT5M',
      exemptClassHours: true,
      usageQuotaHours: 6,
      autoShutdown: {
        shutdownOnDisconnect: LOW_USAGE.shutdownOnDisconnect,
        shutdownOnIdle: { mode: 'lowUsage', delay: 'PT20M', thresholds: { cpuCores: 0.25 } },
      },
      addedHours: [{ student: personId(2), hours: 4 }],
    });
    const cleared = await gql(
      olga,
      `mutation($t: ID!) { updateLab(tenant: $t, name: "gql", input: { costControls: { usageQuotaHours: null } }) { ${LAB_FIELDS} } }`,
      {
        t: tenant,
      },
    );
    expect(cleared.data.updateLab.costControls.usageQuotaHours).toBeNull();

    const refused = await gql(
      olga,
      'mutation($t: ID!, $s: ID!) { addLabUsageHours(tenant: $t, lab: "gql", student: $s, hours: -5) { addedHours } }',
      {
        t: tenant,
        s: personId(2),
      },
    );
    expect(refused.errors?.[0]?.extensions.code).toBe('ADDED_HOURS_OUT_OF_RANGE');

    const tenantSet = await gql(
      olga,
      'mutation($id: ID!) { updateTenant(id: $id, input: { costControls: { warningPeriod: "PT1M" } }) { costControls { warningPeriod autoShutdown { shutdownWhenNotConnected { enabled } } } } }',
      {
        id: tenant,
      },
    );
    expect(tenantSet).toEqual({
      data: { updateTenant: { costControls: { warningPeriod: 'PT1M', autoShutdown: { shutdownWhenNotConnected: { enabled: true } } } } },
    });
    const tenantRemoved = await gql(
      olga,
      'mutation($id: ID!) { updateTenant(id: $id, input: { costControls: null }) { costControls { warningPeriod } } }',
      { id: tenant },
    );
    expect(tenantRemoved).toEqual({ data: { updateTenant: { costControls: null } } });
  });
});
