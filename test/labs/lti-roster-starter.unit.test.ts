import { describe, expect, it } from 'vitest';
import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import { createLtiRosterSyncService, LTI_ROSTER_SYNC_KIND } from '../../src/domain/lti/roster-sync.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { toOperation } from '../../src/domain/operations/operation.js';
import type { StartOperationInput } from '../../src/domain/operations/operation-service.js';
import type { Tenant } from '../../src/domain/tenants/tenant.js';

const NOW = new Date('2026-03-02T10:00:00Z');
const BINDING = {
  registrationId: 'r',
  deploymentId: 'd',
  contextId: 'c',
  membershipsUrl: 'https://lms.example.edu/nrps',
  boundAt: NOW.toISOString(),
};

function spec(name: string, lti: LabSpec['lti']): LabSpec {
  return {
    tenant: 'physics',
    name,
    template: {
      image: { scope: 'platform', name: 'ubuntu-24' },
      cpu: 1,
      memoryGi: 2,
      diskGi: 10,
      storageClass: 'kv-standard',
      arc: false,
      studentRole: 'user',
      sshPublicKeys: [],
    },
    instructors: [],
    students: [],
    schedules: [],
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...(lti === undefined ? {} : { lti }),
  };
}

function setup() {
  const labs = createMemoryLabRepository({
    labs: [
      { spec: spec('bound', BINDING) },
      { spec: spec('plain', undefined) },
      { spec: spec('no-nrps', { registrationId: 'r', deploymentId: 'd', contextId: 'c', boundAt: NOW.toISOString() }) },
    ],
  });
  const store = createMemoryOperationStore();
  let seq = 0;
  const operations = {
    async start(p: { id: string }, input: StartOperationInput) {
      const record = newOperationRecord({ id: `op-${++seq}`, ...input, createdBy: p.id, firstStep: 'sync' }, NOW);
      await store.create(record);
      return toOperation(record);
    },
  };
  const tenants = { get: async (id: string) => (id === 'physics' ? ({ id } as Tenant) : undefined) };
  const service = createLtiRosterSyncService({ labs, tenants, operations, operationStore: store });
  return { service, store };
}

const olga = makePrincipal({ id: 'olga', tenantRoles: [['physics', 'owner']] });

describe('starting LMS roster syncs', () => {
  it('starts one lti.roster-sync per lab: a start while one is queued or running answers that one', async () => {
    const { service, store } = setup();
    const first = await service.syncFromLms(olga, 'physics', 'bound');
    expect(first).toMatchObject({ kind: LTI_ROSTER_SYNC_KIND, tenant: 'physics', target: { type: 'lab', id: 'physics/bound', name: 'bound' } });
    expect((await store.get(first.id))?.input).toEqual({ tenant: 'physics', lab: 'bound', trigger: 'manual', requestedBy: 'olga' });
    expect((await service.start('physics', 'bound', 'schedule', 'labplane-maintenance')).operationId).toBe(first.id);

    await store.mutate(first.id, (op) => ({ ...op, status: 'succeeded', finishedAt: NOW.toISOString() }));
    const next = await service.start('physics', 'bound', 'schedule', 'labplane-maintenance');
    expect(next.operationId).not.toBe(first.id);
    expect((await store.get(next.operationId))?.createdBy).toBe('labplane-maintenance');
  });

  it('a launch starts it as the LMS integration, for the instructor', async () => {
    const { service, store } = setup();
    const { operationId } = await service.start('physics', 'bound', 'launch', 'instructor-7');
    const op = await store.get(operationId);
    expect([op?.createdBy, op?.input['trigger'], op?.input['requestedBy']]).toEqual(['labplane-lti', 'launch', 'instructor-7']);
  });

  it('refuses an unbound lab or one without NRPS (409), and hides other tenants (404)', async () => {
    const { service } = setup();
    await expect(service.syncFromLms(olga, 'physics', 'plain')).rejects.toMatchObject({ code: 'LAB_NOT_LTI_BOUND' });
    await expect(service.syncFromLms(olga, 'physics', 'no-nrps')).rejects.toMatchObject({ code: 'LTI_NO_MEMBERSHIP_SERVICE' });
    await expect(service.syncFromLms(olga, 'physics', 'missing')).rejects.toMatchObject({ code: 'LAB_NOT_FOUND' });
    const mallory = makePrincipal({ id: 'mallory', tenantRoles: [['chemistry', 'owner']] });
    await expect(service.syncFromLms(mallory, 'physics', 'bound')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    const member = makePrincipal({ id: 'sam', tenantRoles: [['physics', 'member']] });
    await expect(service.syncFromLms(member, 'physics', 'bound')).rejects.toMatchObject({ code: expect.stringMatching(/FORBIDDEN|NOT_FOUND/) });
  });
});
