import { describe, expect, it } from 'vitest';
import { webhookEventsOf, webhookPayload } from '../../src/domain/webhooks/events.js';
import { anOperation } from './support.js';

const types = (...args: Parameters<typeof anOperation>) => webhookEventsOf(anOperation(...args)).map((e) => e.type);

describe('webhook events of an operation', () => {
  it('a top-level operation that succeeded is operation.succeeded with the operation as data, id `${op.id}.${type}` and occurredAt = finishedAt', () => {
    const op = anOperation({ kind: 'image.import', result: { image: 'x' }, input: { secret: 'no' } } as never);
    const [event] = webhookEventsOf(op);
    expect(event).toMatchObject({ id: `${op.id}.operation.succeeded`, type: 'operation.succeeded', tenant: 't1', occurredAt: op.finishedAt });
    expect(event?.data).toMatchObject({ id: op.id, kind: 'image.import', status: 'succeeded', result: { image: 'x' }, createdBy: 'olga' });
    // Only the client view: a record's input and cursor never reach a receiver.
    expect(event?.data).not.toHaveProperty('input');
    expect(event?.data).not.toHaveProperty('cursor');
  });

  it('a top-level operation that failed is operation.failed (and nothing else)', () => {
    const failed = anOperation({ status: 'failed', result: undefined, error: { code: 'QUOTA_EXCEEDED', title: 'over quota' } });
    const events = webhookEventsOf(failed);
    expect(events.map((e) => e.type)).toEqual(['operation.failed']);
    // The problem as GET /v1/operations/{id} shows it: type and status from the catalogue.
    expect(events[0]?.data['error']).toEqual({
      type: 'urn:labplane:problem:quota-exceeded',
      title: 'over quota',
      status: 409,
      code: 'QUOTA_EXCEEDED',
    });
  });

  it('child operations (with a parentId) produce no operation.* event', () => {
    expect(types({ kind: 'image.import', parentId: 'p-1' })).toEqual([]);
    expect(types({ kind: 'image.import', parentId: 'p-1', status: 'failed' })).toEqual([]);
    // ...but a child vm.create still says its VM is ready.
    expect(types({ parentId: 'p-1' })).toEqual(['vm.ready']);
  });

  it('unfinished, canceled and tenantless operations produce nothing', () => {
    expect(types({ status: 'running', finishedAt: undefined })).toEqual([]);
    expect(types({ status: 'queued', finishedAt: undefined })).toEqual([]);
    expect(types({ status: 'canceled' })).toEqual([]);
    expect(types({ tenant: undefined })).toEqual([]);
  });

  it('vm.create succeeded without a pending identity is vm.ready with tenant, vm, lab, ownerId and operationId', () => {
    const op = anOperation({ result: { tenant: 't1', name: 'vm-1', lab: 'cs101', id: 'abc', state: 'Running' } });
    const ready = webhookEventsOf(op).find((e) => e.type === 'vm.ready');
    expect(ready?.id).toBe(`${op.id}.vm.ready`);
    expect(ready?.data).toEqual({ tenant: 't1', vm: 'vm-1', lab: 'cs101', ownerId: 'stud-1', operationId: op.id });
    expect(types()).toEqual(['operation.succeeded', 'vm.ready']);
  });

  it('vm.create with identityPending is not vm.ready (vm.identity says it later); vm.identity succeeded is', () => {
    expect(types({ result: { tenant: 't1', name: 'vm-1', identityPending: true } })).toEqual(['operation.succeeded']);
    const identity = webhookEventsOf(anOperation({ kind: 'vm.identity', parentId: 'create-op', result: { tenant: 't1', name: 'vm-1' } }));
    expect(identity.map((e) => e.type)).toEqual(['vm.ready']);
    expect(identity[0]?.data).not.toHaveProperty('lab');
  });

  it('vm.snapshot succeeded is vm.snapshot-ready with tenant, vm, snapshot, how it was taken, ownerId and operationId; failed it is not', () => {
    const op = anOperation({
      kind: 'vm.snapshot',
      ownerId: 'sam',
      result: { tenant: 't1', name: 'vm-1', snapshot: 'before', online: true, indications: ['Online', 'GuestAgent'], sizeGi: 10 },
    });
    const events = webhookEventsOf(op);
    expect(events.map((e) => e.type)).toEqual(['operation.succeeded', 'vm.snapshot-ready']);
    expect(events[1]).toMatchObject({ id: `${op.id}.vm.snapshot-ready`, tenant: 't1' });
    expect(events[1]?.data).toEqual({
      tenant: 't1',
      vm: 'vm-1',
      snapshot: 'before',
      online: true,
      indications: ['Online', 'GuestAgent'],
      ownerId: 'sam',
      operationId: op.id,
    });
    expect(types({ kind: 'vm.snapshot', status: 'failed' })).toEqual(['operation.failed']);
    expect(types({ kind: 'vm.restore', result: { tenant: 't1', name: 'vm-1', snapshot: 'before' } })).toEqual(['operation.succeeded']);
  });

  it('lab.template-publish succeeded is lab.template-published with the lab, its template VM and the published image; failed it is not', () => {
    const op = anOperation({
      kind: 'lab.template-publish',
      result: {
        tenant: 't1',
        lab: 'cs101',
        vm: 'cs101-template',
        image: { scope: 'tenant', name: 'cs101-template' },
        version: 2,
        publishOperationId: 'p1',
      },
    });
    const events = webhookEventsOf(op);
    expect(events.map((e) => e.type)).toEqual(['operation.succeeded', 'lab.template-published']);
    expect(events[1]?.data).toEqual({
      tenant: 't1',
      lab: 'cs101',
      vm: 'cs101-template',
      image: { scope: 'tenant', name: 'cs101-template' },
      version: 2,
      operationId: op.id,
    });
    expect(types({ kind: 'lab.template-publish', status: 'failed' })).toEqual(['operation.failed']);
  });

  it('a failed vm.create or vm.identity is not vm.ready', () => {
    expect(types({ status: 'failed' })).toEqual(['operation.failed']);
    expect(types({ kind: 'vm.identity', status: 'failed', parentId: 'x' })).toEqual([]);
  });

  it('lab.sync succeeded with result.ready is lab.ready; with reason roster it is lab.roster-synced; both when both hold', () => {
    const summary = { total: 3, ready: 3 };
    const diff = { added: ['s3'], removed: [] };
    const ready = anOperation({ kind: 'lab.sync', result: { lab: 'cs101', ready: true, summary } });
    expect(webhookEventsOf(ready).map((e) => e.type)).toEqual(['operation.succeeded', 'lab.ready']);
    expect(webhookEventsOf(ready)[1]?.data).toEqual({ tenant: 't1', lab: 'cs101', summary, operationId: ready.id });

    const roster = anOperation({ kind: 'lab.sync', result: { lab: 'cs101', ready: false, reason: 'roster', diff, summary, failed: ['s2'] } });
    expect(webhookEventsOf(roster).map((e) => e.type)).toEqual(['operation.succeeded', 'lab.roster-synced']);
    expect(webhookEventsOf(roster)[1]?.data).toEqual({ tenant: 't1', lab: 'cs101', diff, summary, failed: ['s2'], operationId: roster.id });

    expect(types({ kind: 'lab.sync', result: { lab: 'cs101', ready: true, reason: 'roster', diff, summary, failed: [] } })).toEqual([
      'operation.succeeded',
      'lab.ready',
      'lab.roster-synced',
    ]);
    expect(types({ kind: 'lab.sync', result: { lab: 'cs101', ready: false, reason: 'update' } })).toEqual(['operation.succeeded']);
    expect(types({ kind: 'lab.sync', status: 'failed', result: { lab: 'cs101', ready: true, reason: 'roster' } })).toEqual(['operation.failed']);
  });

  it('the same operation always gives the same events (deterministic ids)', () => {
    expect(webhookEventsOf(anOperation())).toEqual(webhookEventsOf(anOperation()));
  });

  it('the payload is { id, type, timestamp, tenant, data }', () => {
    const [event] = webhookEventsOf(anOperation());
    expect(JSON.parse(webhookPayload(event!))).toEqual({
      id: event!.id,
      type: 'operation.succeeded',
      timestamp: '2025-03-01T10:02:00.000Z',
      tenant: 't1',
      data: event!.data,
    });
  });
});
