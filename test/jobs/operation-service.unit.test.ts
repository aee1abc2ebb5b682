import { describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/event-bus.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { makePrincipal, type Principal } from '../../src/domain/auth/principal.js';
import { succeed } from '../../src/domain/operations/operation-lifecycle.js';
import { createOperationService } from '../../src/domain/operations/operation-service.js';
import type { JobQueue } from '../../src/domain/operations/job-queue.js';
import { ConflictError, ForbiddenError, NotFoundError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { createInProcessJobEngine } from '../../src/jobs/in-process-engine.js';
import { admin, recordingLogger, uuids } from './helpers.js';

const owner = makePrincipal({ id: 'owner-1', tenantRoles: [['lab1', 'owner']] });
const m1 = makePrincipal({ id: 'student-1', tenantRoles: [['lab1', 'member']] });
const m2 = makePrincipal({ id: 'student-2', tenantRoles: [['lab1', 'member']] });
const outsider = makePrincipal({ id: 'owner-2', tenantRoles: [['lab2', 'owner']] });
const lms = makePrincipal({ id: 'lms', kind: 'service', integrationRoles: ['read'], integrationTenants: ['lab1'] });

async function setup() {
  const logger = recordingLogger();
  const store = createMemoryOperationStore();
  const events = createMemoryOperationEvents();
  const engine = createInProcessJobEngine({ store, events, clock: systemClock, logger });
  engine.register([
    {
      kind: 'vm.create',
      firstStep: 'create',
      steps: { create: async () => ({ type: 'done' }) },
      retry: { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 },
    },
  ]);
  let outage: Error | undefined;
  const queue: JobQueue = {
    firstStep: (k) => engine.firstStep(k),
    enqueue: (k, o) => (outage === undefined ? engine.enqueue(k, o) : Promise.reject(outage)),
    cancel: (id) => engine.cancel(id),
  };
  const service = createOperationService({ store, events, queue, ids: uuids, clock: systemClock, logger });
  const start = (p: Principal, over: { tenant?: string; ownerId?: string } = {}) =>
    service.start(p, { kind: 'vm.create', target: { type: 'vm', id: 'vm-1' }, input: { cpu: 1 }, ...over });
  const ops = {
    tenant: await start(owner, { tenant: 'lab1' }),
    mine: await start(m1, { tenant: 'lab1', ownerId: m1.id }),
    other: await start(owner, { tenant: 'lab2' }),
    platform: await start(admin),
    byOwner: await start(owner),
  };
  return { store, service, ops, start, queueDown: (err: Error) => void (outage = err) };
}

const notFound = async (p: Promise<unknown>, code = 'OPERATION_NOT_FOUND') => {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(NotFoundError);
  expect((err as NotFoundError).code).toBe(code);
};

describe('operation service', () => {
  it('shows a tenant operation to the tenant and answers 404 to anyone who cannot see the tenant', async () => {
    const { service, ops } = await setup();
    expect((await service.get(owner, ops.tenant.id)).id).toBe(ops.tenant.id);
    expect((await service.get(lms, ops.tenant.id)).id).toBe(ops.tenant.id);
    await notFound(service.get(outsider, ops.tenant.id));
    await notFound(service.get(owner, 'no-such-id'));
  });

  it("lets members see their own operations but not a neighbour's", async () => {
    const { service, ops } = await setup();
    expect((await service.get(m1, ops.mine.id)).ownerId).toBe(m1.id);
    await notFound(service.get(m2, ops.mine.id));
  });

  it('shows tenantless operations to platform admins and to their creator only', async () => {
    const { service, ops } = await setup();
    expect((await service.get(admin, ops.platform.id)).tenant).toBeUndefined();
    expect((await service.get(owner, ops.byOwner.id)).createdBy).toBe(owner.id);
    await notFound(service.get(owner, ops.platform.id));
    await notFound(service.get(m1, ops.byOwner.id));
  });

  it('returns the client view: no input, no cursor', async () => {
    const { service, ops } = await setup();
    const op = await service.get(owner, ops.tenant.id);
    expect(op).not.toHaveProperty('input');
    expect(op).not.toHaveProperty('cursor');
    expect(op).toMatchObject({ kind: 'vm.create', status: 'queued', attempts: 0, cancelRequested: false, progress: { percent: 0, step: 'create' } });
  });

  it('lists only what the caller may see; a tenant filter on an invisible tenant is 404', async () => {
    const { service, ops } = await setup();
    const ids = async (p: Principal, filter = {}) => (await service.list(p, filter, { limit: 50 })).items.map((o) => o.id).sort();
    expect(await ids(admin)).toHaveLength(5);
    expect(await ids(owner)).toEqual([ops.tenant.id, ops.mine.id, ops.byOwner.id].sort());
    expect(await ids(owner, { tenant: 'lab1' })).toEqual([ops.tenant.id, ops.mine.id].sort());
    expect(await ids(m2)).toEqual([ops.tenant.id]);
    expect(await ids(admin, { status: 'succeeded' })).toEqual([]);
    await notFound(service.list(outsider, { tenant: 'lab1' }, { limit: 10 }), 'TENANT_NOT_FOUND');
  });

  it('lets owners and admins cancel; members and read-only integrations may not', async () => {
    const { service, ops } = await setup();
    await expect(service.cancel(m1, ops.mine.id)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(service.cancel(lms, ops.tenant.id)).rejects.toBeInstanceOf(ForbiddenError);
    await notFound(service.cancel(outsider, ops.tenant.id));
    await notFound(service.cancel(m1, ops.platform.id));
    expect((await service.cancel(owner, ops.tenant.id)).status).toBe('canceled');
    expect((await service.cancel(owner, ops.byOwner.id)).status).toBe('canceled');
    expect((await service.cancel(admin, ops.platform.id)).result).toEqual({ stoppedAtStep: 'create', stepCompleted: false });
  });

  it('answers OPERATION_FINISHED (409) to a cancel of a finished operation, and 404 to an unknown one', async () => {
    const { service, store, ops } = await setup();
    await store.mutate(ops.tenant.id, (cur) => succeed({ ...cur, status: 'running' }, undefined, new Date()));
    const err = await service.cancel(owner, ops.tenant.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect((err as ConflictError).code).toBe('OPERATION_FINISHED');
    await notFound(service.cancel(owner, 'missing'));
  });

  it('marks the operation failed and rethrows when the queue is unreachable', async () => {
    const down = new UpstreamUnavailableError('REDIS_UNAVAILABLE', 'The job queue is unreachable; try again shortly.', { retryAfterSeconds: 5 });
    const { service, store, queueDown } = await setup();
    queueDown(down);
    const err = await service
      .start(owner, { kind: 'vm.create', tenant: 'lab1', target: { type: 'vm', id: 'x' }, input: {} })
      .catch((e: unknown) => e);
    expect(err).toBe(down);
    const failed = (await store.list({ target: { type: 'vm', id: 'x' } }, { limit: 5 })).items[0];
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.code).toBe('REDIS_UNAVAILABLE');
  });
});
