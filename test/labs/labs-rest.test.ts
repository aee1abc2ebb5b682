import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { expectProblem } from '../vms/support.js';
import { INSTRUCTOR_KEY, labBody, labClient, person, personId } from './support.js';

let t: TestApp;
let admin: string;
let olga: string;
let rest: ReturnType<typeof labClient>;

beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  admin = await t.bearer({ sub: 'admin-labs', roles: ['platform-admin'] });
  olga = await t.bearer({ sub: 'olga' });
  rest = labClient(t);
});
afterAll(async () => {
  await t?.close();
});

const labsOf = (tenant: string) => `/v1/tenants/${tenant}/labs`;

describe('labs over REST', () => {
  it('creating a lab answers 202 with where to watch the operation; the lab reads back with its ETag and is listed by course', async () => {
    const tenant = await rest.createTenant(admin);
    const res = await rest
      .api()
      .post(labsOf(tenant))
      .set('authorization', olga)
      .send(
        labBody('db101', {
          displayName: 'Databases',
          course: { lms: 'canvas', courseId: 'c-42' },
          instructors: [person(900)],
          students: [person(1), person(2)],
        }),
      );
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ kind: 'lab.sync', tenant });
    expect(res.headers['location']).toBe(`/v1/operations/${res.body.id}`);
    expect(res.headers['operation-location']).toBe(`/v1/operations/${res.body.id}`);
    expect((await rest.settle(olga, res.body.id, 30_000))['status']).toBe('succeeded');
    await rest.untilPhase(olga, tenant, 'db101', 'Ready');

    const got = await rest.lab(olga, tenant, 'db101');
    expect(got.status).toBe(200);
    expect(got.headers['etag']).toBe(`"${got.body.version}"`);
    expect(got.body).toMatchObject({
      tenant,
      name: 'db101',
      displayName: 'Databases',
      course: { lms: 'canvas', courseId: 'c-42' },
      template: {
        image: { scope: 'platform', name: 'ubuntu-24-04' },
        instanceType: 'small',
        cpu: 1,
        memoryGi: 2,
        diskGi: 10,
        storageClass: 'kv-standard',
        arc: false,
        studentRole: 'user',
        sshPublicKeys: [INSTRUCTOR_KEY],
      },
      instructors: [person(900)],
      schedules: [],
      dropGracePeriodHours: 72,
      endGracePeriodDays: 14,
      phase: 'Ready',
      summary: { total: 2, pending: 0, provisioning: 0, ready: 2, failed: 0, dropped: 0 },
    });

    await rest.createLab(olga, tenant, labBody('empty', { course: { lms: 'moodle', courseId: 'm-1' } }));
    const byCourse = await rest
      .api()
      .get(`${labsOf(tenant)}?lms=canvas&courseId=c-42`)
      .set('authorization', olga);
    expect(byCourse.body.items.map((l: { name: string }) => l.name)).toEqual(['db101']);
    const byPhase = await rest
      .api()
      .get(`${labsOf(tenant)}?phase=Empty`)
      .set('authorization', olga);
    expect(byPhase.body.items.map((l: { name: string }) => l.name)).toEqual(['empty']);
    const first = await rest
      .api()
      .get(`${labsOf(tenant)}?limit=1`)
      .set('authorization', olga);
    expect(first.body.items.map((l: { name: string }) => l.name)).toEqual(['db101']);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await rest
      .api()
      .get(`${labsOf(tenant)}?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`)
      .set('authorization', olga);
    expect(second.body).toEqual({ items: [expect.objectContaining({ name: 'empty' })] });
  });

  it('a PATCH with a stale If-Match answers 412 and changes nothing; with the current ETag it applies and the ETag moves on', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('os201', { displayName: 'Operating systems', endsAt: '2031-07-31T18:00:00+02:00' }));
    const before = String((await rest.lab(olga, tenant, 'os201')).headers['etag']);

    const changed = await rest
      .api()
      .patch(`${labsOf(tenant)}/os201`)
      .set('authorization', olga)
      .set('if-match', before)
      .send({ displayName: 'OS' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.displayName).toBe('OS');
    expect(changed.headers['etag']).toBe(`"${changed.body.version}"`);
    expect(changed.headers['etag']).not.toBe(before);

    const stale = await rest
      .api()
      .patch(`${labsOf(tenant)}/os201`)
      .set('authorization', olga)
      .set('if-match', before)
      .send({ displayName: 'Lost update' });
    expectProblem(stale, 412, 'VERSION_MISMATCH');
    expect((await rest.lab(olga, tenant, 'os201')).body.displayName).toBe('OS');

    // RFC 9110 §13.1.1: If-Match compares strongly, so the weak form of the current ETag does not match.
    const weak = await rest
      .api()
      .patch(`${labsOf(tenant)}/os201`)
      .set('authorization', olga)
      .set('if-match', `W/${String(changed.headers['etag'])}`)
      .send({ displayName: null, endsAt: null });
    expectProblem(weak, 412, 'VERSION_MISMATCH');
    const current = await rest
      .api()
      .patch(`${labsOf(tenant)}/os201`)
      .set('authorization', olga)
      .set('if-match', String(changed.headers['etag']))
      .send({ displayName: null, endsAt: null });
    expect(current.status, JSON.stringify(current.body)).toBe(200);
    expect(current.body).not.toHaveProperty('displayName');
    expect(current.body).not.toHaveProperty('endsAt');
    expectProblem(
      await rest
        .api()
        .patch(`${labsOf(tenant)}/os201`)
        .set('authorization', olga)
        .set('if-match', 'garbage')
        .send({ displayName: 'x' }),
      412,
      'BAD_IF_MATCH',
    );
  });

  it('PUT roster answers 202 with the operation and the diff; students are listed by status, dropped ones with their deletion time', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('net301', { students: [person(1), person(2)] }));

    const res = await rest
      .api()
      .put(`${labsOf(tenant)}/net301/roster`)
      .set('authorization', olga)
      .send({ students: [person(2, { displayName: 'Renamed' }), person(3)] });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body.diff).toEqual({ added: [personId(3)], removed: [personId(1)], updated: [personId(2)], unchanged: 0 });
    expect(res.body.operation).toMatchObject({ id: expect.any(String), tenant, status: expect.any(String) });
    expect(res.headers['operation-location']).toBe(`/v1/operations/${res.body.operation.id}`);
    expect(res.headers['location']).toBe(`/v1/operations/${res.body.operation.id}`);
    expect((await rest.settle(olga, res.body.operation.id, 30_000))['status']).toBe('succeeded');

    await expect
      .poll(async () => (await rest.students(olga, tenant, 'net301', '?status=ready')).body.items.map((s: { id: string }) => s.id), {
        timeout: 20_000,
      })
      .toEqual([personId(2), personId(3)]);
    const dropped = await rest.students(olga, tenant, 'net301', '?status=dropped');
    expect(dropped.body.items).toEqual([
      expect.objectContaining({ id: personId(1), status: 'dropped', vm: expect.any(String), deleteAfter: expect.any(String) }),
    ]);
    const all = await rest.students(olga, tenant, 'net301', '?limit=2');
    expect(all.body.items).toHaveLength(2);
    expect(all.body.nextCursor).toEqual(expect.any(String));
    expect(all.body.items[1]).toMatchObject({ id: personId(2), displayName: 'Renamed', status: 'ready', vmState: 'Running' });

    const again = await rest
      .api()
      .put(`${labsOf(tenant)}/net301/roster`)
      .set('authorization', olga)
      .send({ students: [person(2, { displayName: 'Renamed' }), { ...person(3), id: personId(3).toUpperCase() }] });
    expect(again.status).toBe(202);
    expect(again.body.diff).toEqual({ added: [], removed: [], updated: [], unchanged: 2 });
  });

  it('retrying a student not on the roster is 404, a ready one 409; deleting the lab is an operation', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('ml401', { students: [person(1)] }));
    const retry = (id: string) =>
      rest
        .api()
        .post(`${labsOf(tenant)}/ml401/students/${id}/retry`)
        .set('authorization', olga);
    expectProblem(await retry(personId(77)), 404, 'STUDENT_NOT_FOUND');
    expectProblem(await retry(personId(1)), 409, 'STUDENT_NOT_FAILED');
    expectProblem(await retry('not-a-guid'), 400, 'VALIDATION_FAILED');
    expectProblem(
      await rest
        .api()
        .post(`${labsOf(tenant)}/nope/students/${personId(1)}/retry`)
        .set('authorization', olga),
      404,
      'LAB_NOT_FOUND',
    );

    const del = await rest
      .api()
      .delete(`${labsOf(tenant)}/ml401`)
      .set('authorization', olga);
    expect(del.status, JSON.stringify(del.body)).toBe(202);
    expect(del.body.kind).toBe('lab.delete');
    expect(del.headers['operation-location']).toBe(`/v1/operations/${del.body.id}`);
    expect((await rest.settle(olga, del.body.id, 30_000))['status']).toBe('succeeded');
    await expect.poll(async () => (await rest.lab(olga, tenant, 'ml401')).status, { timeout: 10_000 }).toBe(404);
  });

  it('bad input is a 400 listing every offending field, before anything is written', async () => {
    const tenant = await rest.createTenant(admin);
    const res = await rest
      .api()
      .post(labsOf(tenant))
      .set('authorization', olga)
      .send({
        name: 'Bad_Name',
        template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 2, diskGi: 0, storageClass: 'fast' },
        students: [{ id: 'not-a-guid', email: 'nobody' }],
        schedules: [{ name: 'mornings', days: ['mon', 'someday'], startTime: '25:00', timeZone: 'Europe/Berlin' }],
        owner: 'someone-else',
      });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const fields = res.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        '/name',
        '/template/memoryGi',
        '/template/diskGi',
        '/template/storageClass',
        '/students/0/id',
        '/students/0/email',
        '/schedules/0/days/1',
        '/schedules/0/startTime',
        '/owner',
      ]),
    );
    expect((await rest.api().get(labsOf(tenant)).set('authorization', olga)).body.items).toEqual([]);

    const tooMany = Array.from({ length: 2001 }, (_, i) => ({ id: personId(i + 1) }));
    const roster = await rest
      .api()
      .put(`${labsOf(tenant)}/any/roster`)
      .set('authorization', olga)
      .send({ students: tooMany });
    expectProblem(roster, 400, 'VALIDATION_FAILED');
    expect(roster.body.errors.map((e: { field: string }) => e.field)).toContain('/students');
    const patch = await rest
      .api()
      .patch(`${labsOf(tenant)}/any`)
      .set('authorization', olga)
      .send({});
    expectProblem(patch, 400, 'VALIDATION_FAILED');
    expectProblem(
      await rest
        .api()
        .get(`${labsOf(tenant)}?phase=Sleeping`)
        .set('authorization', olga),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('over quota, creating a lab answers 409 QUOTA_EXCEEDED with what is needed and left, and creates no lab', async () => {
    const tenant = await rest.createTenant(admin, { quota: { virtualMachines: 2 } });
    const res = await rest
      .api()
      .post(labsOf(tenant))
      .set('authorization', olga)
      .send(labBody('big', { students: [person(1), person(2), person(3)] }));
    expectProblem(res, 409, 'QUOTA_EXCEEDED');
    expect(res.body.details).toMatchObject({ needed: { virtualMachines: 3 }, left: { virtualMachines: 2 } });
    expectProblem(await rest.lab(olga, tenant, 'big'), 404, 'LAB_NOT_FOUND');
  });

  it('a replayed Idempotency-Key returns the first answer; another lab under the same name is 409 LAB_EXISTS', async () => {
    const tenant = await rest.createTenant(admin);
    const send = () => rest.api().post(labsOf(tenant)).set('authorization', olga).set('idempotency-key', 'create-sec1').send(labBody('sec1'));
    const first = await send();
    expect(first.status).toBe(202);
    const replay = await send();
    expect(replay.status).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    expectProblem(await rest.api().post(labsOf(tenant)).set('authorization', olga).send(labBody('sec1')), 409, 'LAB_EXISTS');
  });

  it('tenant members may not see labs (403); callers of other tenants get 404; an LMS integration manages them', async () => {
    const tenant = await rest.createTenant(admin);
    await rest.createLab(olga, tenant, labBody('shared'));
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    const member = await t.bearer({ sub: 'sam' });
    await rest.createTenant(admin, { owners: [{ principalId: 'other-owner' }] });
    const stranger = await t.bearer({ sub: 'other-owner' });
    const lms = await t.bearer({ sub: 'lms-canvas', roles: ['labs.manage'], tenants: { [tenant]: 'owner' } });
    const reader = await t.bearer({ sub: 'lms-reader', roles: ['read'], tenants: { [tenant]: 'owner' } });

    expectProblem(await rest.api().get(labsOf(tenant)).set('authorization', member), 403, 'FORBIDDEN');
    expectProblem(await rest.lab(member, tenant, 'shared'), 403, 'FORBIDDEN');
    expectProblem(await rest.api().post(labsOf(tenant)).set('authorization', member).send(labBody('mine')), 403, 'FORBIDDEN');
    for (const res of [
      await rest.api().get(labsOf(tenant)).set('authorization', stranger),
      await rest.lab(stranger, tenant, 'shared'),
      await rest
        .api()
        .put(`${labsOf(tenant)}/shared/roster`)
        .set('authorization', stranger)
        .send({ students: [] }),
      await rest
        .api()
        .delete(`${labsOf(tenant)}/shared`)
        .set('authorization', stranger),
    ]) {
      // About the tenant, never the lab: a stranger learns nothing of what is inside.
      expectProblem(res, 404, 'TENANT_NOT_FOUND');
    }
    expect((await rest.api().get(labsOf(tenant)).set('authorization', reader)).status).toBe(200);
    expectProblem(await rest.api().post(labsOf(tenant)).set('authorization', reader).send(labBody('read-only')), 403, 'FORBIDDEN');
    const created = await rest
      .api()
      .post(labsOf(tenant))
      .set('authorization', lms)
      .send(labBody('from-lms', { course: { lms: 'canvas', courseId: '7' } }));
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(
      (
        await rest
          .api()
          .put(`${labsOf(tenant)}/from-lms/roster`)
          .set('authorization', lms)
          .send({ students: [] })
      ).status,
    ).toBe(202);
  });

  it('a tenant member sees no lab operation (list, get), while the owner sees them all', async () => {
    const tenant = await rest.createTenant(admin);
    const res = await rest
      .api()
      .post(labsOf(tenant))
      .set('authorization', olga)
      .send(labBody('ops101', { students: [person(31), person(32)] }));
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect((await rest.settle(olga, res.body.id as string, 30_000))['status']).toBe('succeeded');
    expect((await rest.api().put(`/v1/tenants/${tenant}/members/sam`).set('authorization', admin).send({ role: 'member' })).status).toBe(201);
    const member = await t.bearer({ sub: 'sam' });
    const kinds = async (auth: string) => {
      const list = await rest.api().get(`/v1/operations?tenant=${tenant}&limit=100`).set('authorization', auth);
      expect(list.status).toBe(200);
      return new Set((list.body.items as Array<{ kind: string }>).map((o) => o.kind));
    };
    expect([...(await kinds(olga))]).toEqual(expect.arrayContaining(['lab.sync', 'lab.student', 'vm.create']));
    expect([...(await kinds(member))].filter((k) => k.startsWith('lab.') || k === 'vm.create')).toEqual([]);
    expectProblem(
      await rest
        .api()
        .get(`/v1/operations/${res.body.id as string}`)
        .set('authorization', member),
      404,
      'OPERATION_NOT_FOUND',
    );
  });
});
