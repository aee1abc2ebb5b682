import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { UpstreamRejectedError } from '../../src/domain/shared/errors.js';
import { createJobEngine } from '../../src/jobs/job-engine.js';
import { admin as adminPrincipal, recordingLogger, uuids, waitFor } from '../jobs/helpers.js';
import { startDashboardRig, tokenOf, type DashboardRig } from '../support/dashboard-app.js';

function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status, res.text.slice(0, 200)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

/** The dashboard's write calls (bull-board 9 API), on queue `q` and job `job`. */
function writes(q: string, job: string): Array<['put' | 'post', string]> {
  return [
    ['put', `/admin/queues/api/queues/${q}/retry/failed`],
    ['put', `/admin/queues/api/queues/${q}/clean/completed`],
    ['put', `/admin/queues/api/queues/${q}/promote`],
    ['put', `/admin/queues/api/queues/${q}/${job}/promote`],
    ['put', `/admin/queues/api/queues/${q}/${job}/retry`],
    ['put', `/admin/queues/api/queues/${q}/${job}/clean`],
    ['put', `/admin/queues/api/queues/${q}/pause`],
    ['put', '/admin/queues/api/queues/pause'],
    ['post', `/admin/queues/api/queues/${q}/add`],
    ['put', `/admin/queues/api/queues/${q}/empty`],
    ['put', `/admin/queues/api/queues/${q}/obliterate`],
  ];
}

async function addDelayedJob(r: DashboardRig, id: string): Promise<void> {
  await r.transport.queue.add('t.none', { operationId: 'op-none', step: 'a', generation: 0 }, { jobId: id, delay: 3_600_000 });
}

describe('the dashboard by default (read-only)', () => {
  let r: DashboardRig;
  beforeAll(async () => {
    r = await startDashboardRig();
  });
  afterAll(async () => {
    await r?.close();
  });

  it('refuses every write with 403 DASHBOARD_READ_ONLY before bull-board sees it, and changes nothing', async () => {
    await addDelayedJob(r, 'job-ro');
    for (const [method, path] of writes(r.queueName, 'job-ro')) {
      expectProblem(await request(r.app.server)[method](path).set('authorization', r.tokens.admin).send({}), 403, 'DASHBOARD_READ_ONLY');
      const agent = request(r.app.server);
      const viaCookie = agent[method](path).set('cookie', `labplane_admin=${tokenOf(r.tokens.admin)}`);
      expectProblem(await viaCookie.set('host', 'labplane.test').set('origin', 'http://labplane.test'), 403, 'DASHBOARD_READ_ONLY');
    }
    expect(await r.transport.queue.getJobState('job-ro')).toBe('delayed');
    expect(await r.transport.queue.isPaused()).toBe(false);
  });

  it('still says FORBIDDEN, not read-only, to a caller without queue.admin', async () => {
    const [first] = writes(r.queueName, 'job-ro');
    expectProblem(
      await request(r.app.server)
        .put(first?.[1] ?? '')
        .set('authorization', r.tokens.member),
      403,
      'FORBIDDEN',
    );
  });

  it('tells the UI the queues are read-only, so it offers no retry or clean', async () => {
    const res = await request(r.app.server).get('/admin/queues/api/queues').set('authorization', r.tokens.admin);
    expect(res.status).toBe(200);
    expect(res.body.queues[0]).toMatchObject({ name: r.queueName, readOnlyMode: true, allowRetries: false });
  });
});

describe('the dashboard with QUEUE_DASHBOARD_WRITE=true', () => {
  let r: DashboardRig;
  beforeAll(async () => {
    r = await startDashboardRig({ QUEUE_DASHBOARD_WRITE: 'true' });
  });
  afterAll(async () => {
    await r?.close();
  });

  it('lets an admin promote, pause, resume and remove jobs', async () => {
    await addDelayedJob(r, 'job-w1');
    const q = `/admin/queues/api/queues/${r.queueName}`;
    const as = (req: request.Test) => req.set('authorization', r.tokens.admin);
    expect((await as(request(r.app.server).put(`${q}/job-w1/promote`))).status).toBeLessThan(300);
    expect(await r.transport.queue.getJobState('job-w1')).toBe('waiting');
    expect((await as(request(r.app.server).put(`${q}/pause`))).status).toBeLessThan(300);
    expect(await r.transport.queue.isPaused()).toBe(true);
    expect((await as(request(r.app.server).put(`${q}/resume`))).status).toBeLessThan(300);
    expect((await as(request(r.app.server).put(`${q}/job-w1/clean`))).status).toBeLessThan(300);
    expect(await r.transport.queue.getJob('job-w1')).toBeUndefined();
    const list = await as(request(r.app.server).get('/admin/queues/api/queues'));
    expect(list.body.queues[0]).toMatchObject({ readOnlyMode: false, allowRetries: true });
  });

  it('takes a write through the session cookie only from a page of this site', async () => {
    await addDelayedJob(r, 'job-w2');
    const path = `/admin/queues/api/queues/${r.queueName}/job-w2/promote`;
    const cookie = `labplane_admin=${tokenOf(r.tokens.admin)}`;
    const forged = await request(r.app.server).put(path).set('cookie', cookie).set('host', 'labplane.test').set('origin', 'https://evil.example');
    expectProblem(forged, 403, 'CROSS_ORIGIN_REFUSED');
    expect(await r.transport.queue.getJobState('job-w2')).toBe('delayed');
    const own = await request(r.app.server).put(path).set('cookie', cookie).set('host', 'labplane.test').set('origin', 'http://labplane.test');
    expect(own.status).toBeLessThan(300);
    expect(await r.transport.queue.getJobState('job-w2')).toBe('waiting');
  });

  it('refuses writes to callers without queue.admin', async () => {
    expectProblem(
      await request(r.app.server).put(`/admin/queues/api/queues/${r.queueName}/pause`).set('authorization', r.tokens.integration),
      403,
      'FORBIDDEN',
    );
  });

  it('audits every write call, done or refused, with who, what and the outcome', async () => {
    await addDelayedJob(r, 'job-w3');
    const q = `/admin/queues/api/queues/${r.queueName}`;
    expect((await request(r.app.server).put(`${q}/job-w3/promote`).set('authorization', r.tokens.admin)).status).toBe(204);
    expect((await request(r.app.server).put(`${q}/resume`).set('authorization', r.tokens.member)).status).toBe(403);
    const events = await waitFor(
      async () => {
        const page = await r.t.deps.jobs.auditLog.list({}, { limit: 100 });
        const mine = page.items.filter((e) => e.path === `${q}/job-w3/promote` || e.path === `${q}/resume`);
        return mine.length >= 2 ? mine : undefined;
      },
      5_000,
      'audit events of the dashboard',
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'queueDashboard:queues/:queueName/:jobId/promote',
        actor: expect.objectContaining({ id: 'dash-admin' }),
        target: { type: 'queue', id: r.queueName },
        result: { status: 204 },
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'queueDashboard:queues/:queueName/resume',
        actor: expect.objectContaining({ id: 'dash-member' }),
        result: { status: 403, code: 'FORBIDDEN' },
      }),
    );
  });
});

describe('a failed operation on the dashboard', () => {
  let r: DashboardRig;
  beforeAll(async () => {
    r = await startDashboardRig();
  });
  afterAll(async () => {
    await r?.close();
  });

  it('is counted among the queue failed jobs (BullMQ and the dashboard API), with its code', async () => {
    const logger = recordingLogger();
    const store = createMemoryOperationStore({ retentionMs: 3_600_000 });
    const events = createMemoryOperationEvents();
    const engine = createJobEngine({ transport: r.transport, store, events, clock: systemClock, logger });
    engine.register([
      {
        kind: 'image.import',
        firstStep: 'fetch',
        retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 10 },
        steps: {
          fetch: async () => {
            throw new UpstreamRejectedError('KUBERNETES_REJECTED', 'The image URL answered 404.');
          },
        },
      },
    ]);
    await engine.startWorker({ concurrency: 1 });
    try {
      const service = createOperationService({ store, events, queue: engine, ids: uuids, clock: systemClock, logger });
      const op = await service.start(adminPrincipal, { kind: 'image.import', tenant: 'lab1', target: { type: 'image', id: 'img-1' }, input: {} });
      const failed = await waitFor(
        async () => {
          const rec = await store.get(op.id);
          return rec?.status === 'failed' ? rec : undefined;
        },
        8_000,
        'the operation to fail',
      );
      expect(failed.error?.code).toBe('KUBERNETES_REJECTED');
      const counts = await waitFor(
        async () => {
          const c = await r.transport.queue.getJobCounts('failed', 'completed');
          return c['failed'] === 1 ? c : undefined;
        },
        5_000,
        'a failed job',
      );
      expect(counts['completed']).toBe(0);
      const res = await request(r.app.server)
        .get(`/admin/queues/api/queues?activeQueue=${r.queueName}&status=failed`)
        .set('authorization', r.tokens.admin);
      expect(res.status).toBe(200);
      const queue = res.body.queues[0];
      expect(queue.counts.failed).toBe(1);
      expect(queue.jobs).toHaveLength(1);
      expect(queue.jobs[0].failedReason).toContain('KUBERNETES_REJECTED');
    } finally {
      await engine.stop({ graceMs: 0 });
    }
  });
});
