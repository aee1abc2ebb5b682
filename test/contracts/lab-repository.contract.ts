import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/domain/shared/error-codes.js';
import type { LabPerson, LabRecord, LabSpec, LabStoredStatus, StudentFailure } from '../../src/domain/labs/lab.js';
import type { LabEvent, LabRepository } from '../../src/domain/labs/lab-repository.js';
import { eventually } from '../support/eventually.js';

/** Arrange steps that go around the port: another writer of the cluster (kubectl, GitOps). */
export interface LabContractSeeds {
  /** Writes the lab's spec as another client would (creating the lab when it does not exist, without the platform's labels). */
  otherWriter(spec: LabSpec): Promise<void>;
}

export interface LabContractFixture {
  readonly repo: LabRepository;
  /** Two tenants that exist (sorted), for labs of the suite. */
  readonly tenants: readonly [string, string];
  readonly seed: LabContractSeeds;
  cleanup(): Promise<void>;
}

export const person = (n: number, extra: Partial<LabPerson> = {}): LabPerson => ({
  id: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
  ...extra,
});

/** A lab with every optional field set (so a round trip shows that none is lost). */
export function labSpec(tenant: string, overrides: Partial<LabSpec> = {}): LabSpec {
  return {
    tenant,
    name: `os-${randomBytes(3).toString('hex')}`,
    displayName: 'Operating Systems 2026',
    course: { lms: 'canvas', courseId: 'CS-310-F26' },
    template: {
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'medium',
      cpu: 2,
      memoryGi: 4,
      diskGi: 20,
      storageClass: 'kv-standard',
      arc: true,
      studentRole: 'user',
      sshPublicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG5v instructor@uni.edu'],
    },
    instructors: [person(1, { email: 'olga@uni.edu', displayName: 'Olga' })],
    students: [person(100, { email: 'sam@uni.edu', displayName: 'Sam' }), person(101)],
    schedules: [
      {
        name: 'weekdays',
        days: ['mon', 'wed'],
        startTime: '08:00',
        stopTime: '18:00',
        timeZone: 'Europe/Berlin',
        startDate: '2026-09-01',
        endDate: '2026-12-20',
      },
    ],
    endsAt: '2026-12-20T23:59:59+01:00',
    dropGracePeriodHours: 72,
    endGracePeriodDays: 14,
    ...overrides,
  };
}

const failure = (code: ErrorCode): StudentFailure => ({
  code,
  reason: `failed with ${code}`,
  operationId: randomUUID(),
  at: '2026-09-01T10:00:00.000Z',
});

/** The LabSpec part of a record. */
export function specOf(lab: LabRecord): LabSpec {
  const { uid: _u, createdAt: _c, version: _v, generation: _g, deleting: _d, status: _s, ...spec } = lab;
  return spec;
}

/** The behaviour every LabRepository keeps; `makeFixture` gives a fresh repository per test. */
export function labRepositoryContract(name: string, makeFixture: () => Promise<LabContractFixture>): void {
  describe(`LabRepository contract: ${name}`, () => {
    let fx: LabContractFixture;
    let repo: LabRepository;
    let tenant: string;
    beforeEach(async () => {
      fx = await makeFixture();
      repo = fx.repo;
      tenant = fx.tenants[0];
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    describe('create, get, list', () => {
      it('a created lab comes back from create, get and list with exactly the spec given, generation 1 and no status', async () => {
        const spec = labSpec(tenant);
        const created = await repo.create(spec);
        expect(specOf(created)).toEqual(spec);
        expect(created).toMatchObject({ generation: 1, deleting: false, status: { failures: {} } });
        expect(created.uid).not.toBe('');
        expect(created.version).not.toBe('');
        expect(Number.isNaN(Date.parse(created.createdAt))).toBe(false);
        expect(await repo.get(tenant, spec.name)).toEqual(created);
        expect(await repo.list(tenant)).toEqual([created]);
      });

      it('a lab without any optional field round-trips without gaining one', async () => {
        const { displayName: _d, course: _c, endsAt: _e, ...bare } = labSpec(tenant, { instructors: [], students: [], schedules: [] });
        const { instanceType: _i, ...template } = bare.template;
        const spec: LabSpec = { ...bare, template: { ...template, sshPublicKeys: [] } };
        await repo.create(spec);
        expect(specOf((await repo.get(tenant, spec.name)) as LabRecord)).toEqual(spec);
      });

      it('list gives one tenant sorted by name, or every tenant sorted by tenant then name; get of an unknown lab is undefined', async () => {
        const [t1, t2] = fx.tenants;
        for (const [t, n] of [
          [t2, 'b-lab'],
          [t1, 'c-lab'],
          [t1, 'a-lab'],
          [t2, 'a-lab'],
        ] as const)
          await repo.create(labSpec(t, { name: n }));
        expect((await repo.list(t1)).map((l) => l.name)).toEqual(['a-lab', 'c-lab']);
        expect((await repo.list()).map((l) => `${l.tenant}/${l.name}`)).toEqual([`${t1}/a-lab`, `${t1}/c-lab`, `${t2}/a-lab`, `${t2}/b-lab`]);
        expect(await repo.get(t1, 'b-lab')).toBeUndefined();
      });

      it('creating a lab whose name is taken answers ConflictError LAB_EXISTS and keeps the first', async () => {
        const spec = labSpec(tenant);
        const first = await repo.create(spec);
        await expect(repo.create({ ...spec, displayName: 'Other' })).rejects.toMatchObject({ kind: 'conflict', code: 'LAB_EXISTS' });
        expect(await repo.get(tenant, spec.name)).toEqual(first);
      });

      it('a lab of 500 students round-trips', async () => {
        const students = Array.from({ length: 500 }, (_, i) => person(1000 + i, { email: `s${i}@uni.edu`, displayName: `Student ${i}` }));
        const spec = labSpec(tenant, { students });
        await repo.create(spec);
        expect(specOf((await repo.get(tenant, spec.name)) as LabRecord)).toEqual(spec);
      });

      it('a lab another client wrote (GitOps, no platform labels) is seen', async () => {
        const spec = labSpec(tenant);
        await fx.seed.otherWriter(spec);
        const seen = await eventually(() => repo.get(tenant, spec.name));
        expect(specOf(seen)).toEqual(spec);
      });
    });

    describe('update', () => {
      it('replaces the spec, moves the version and grows the generation; the status stays', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        await repo.updateStatus(tenant, spec.name, (s) => ({ ...s, lastOperationId: 'op-1' }));
        const next = { ...spec, displayName: 'OS (autumn)', schedules: [] };
        const v2 = await repo.update(tenant, spec.name, next, (await repo.get(tenant, spec.name))?.version);
        expect(specOf(v2)).toEqual(next);
        expect(v2.version).not.toBe(v1.version);
        expect(v2.generation).toBe(2);
        expect(v2.status.lastOperationId).toBe('op-1');
        expect(await repo.get(tenant, spec.name)).toEqual(v2);
      });

      it('with a stale expected version answers PreconditionFailedError VERSION_MISMATCH and writes nothing', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        const v2 = await repo.update(tenant, spec.name, { ...spec, displayName: 'Second' }, v1.version);
        await expect(repo.update(tenant, spec.name, { ...spec, displayName: 'Third' }, v1.version)).rejects.toMatchObject({
          kind: 'precondition_failed',
          code: 'VERSION_MISMATCH',
        });
        expect(await repo.get(tenant, spec.name)).toEqual(v2);
      });

      it('with the version read before another client changed the lab answers VERSION_MISMATCH', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        await fx.seed.otherWriter({ ...spec, displayName: 'Changed by GitOps' });
        await expect(repo.update(tenant, spec.name, { ...spec, endGracePeriodDays: 30 }, v1.version)).rejects.toMatchObject({
          code: 'VERSION_MISMATCH',
        });
        const now = await eventually(async () => {
          const lab = await repo.get(tenant, spec.name);
          return lab?.displayName === 'Changed by GitOps' ? lab : undefined;
        });
        expect(now.endGracePeriodDays).toBe(14);
      });

      it('without a version it wins over a change it had not seen (the conflict is retried)', async () => {
        const spec = labSpec(tenant);
        await repo.create(spec);
        await fx.seed.otherWriter({ ...spec, displayName: 'Changed by GitOps' });
        const written = await repo.update(tenant, spec.name, { ...spec, endGracePeriodDays: 30 });
        expect(specOf(written)).toEqual({ ...spec, endGracePeriodDays: 30 });
        expect(await repo.get(tenant, spec.name)).toEqual(written);
      });

      it('concurrent updates without a version all succeed, each one a new generation', async () => {
        const spec = labSpec(tenant);
        await repo.create(spec);
        const names = ['A', 'B', 'C'];
        await Promise.all(names.map((displayName) => repo.update(tenant, spec.name, { ...spec, displayName })));
        const now = await repo.get(tenant, spec.name);
        expect(names).toContain(now?.displayName);
        expect(now?.generation).toBe(4);
      });

      it('an unchanged spec writes nothing: same version, same generation', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        const again = await repo.update(tenant, spec.name, structuredClone(spec));
        expect(again.version).toBe(v1.version);
        expect(again.generation).toBe(1);
      });

      it('of a missing lab answers NotFoundError LAB_NOT_FOUND, with or without a version', async () => {
        const spec = labSpec(tenant);
        await expect(repo.update(tenant, spec.name, spec)).rejects.toMatchObject({ kind: 'not_found', code: 'LAB_NOT_FOUND' });
        await expect(repo.update(tenant, spec.name, spec, '42')).rejects.toMatchObject({ kind: 'not_found', code: 'LAB_NOT_FOUND' });
      });
    });

    describe('updateStatus', () => {
      it('is a read-modify-write of the status alone: the generation stays, the version moves, the spec is untouched', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        const seen: LabStoredStatus[] = [];
        const written = await repo.updateStatus(tenant, spec.name, (s) => {
          seen.push(s);
          return { ...s, observedGeneration: 1, lastOperationId: 'op-1', failures: { [person(100).id]: failure('QUOTA_EXCEEDED') } };
        });
        expect(seen.at(-1)).toEqual({ failures: {} });
        expect(written.generation).toBe(1);
        expect(written.version).not.toBe(v1.version);
        expect(specOf(written)).toEqual(spec);
        expect(written.status).toMatchObject({ observedGeneration: 1, lastOperationId: 'op-1' });
        const later = await repo.updateStatus(tenant, spec.name, (s) => ({
          ...s,
          failures: { ...s.failures, [person(101).id]: failure('ARC_NOT_CONNECTED') },
          schedule: { action: 'start', dueAt: '2026-09-07T06:00:00.000Z', claimedAt: '2026-09-07T06:00:03.000Z', claimant: 'worker-a_1' },
        }));
        expect(Object.keys(later.status.failures).sort()).toEqual([person(100).id, person(101).id]);
        expect(later.status.schedule).toEqual({
          action: 'start',
          dueAt: '2026-09-07T06:00:00.000Z',
          claimedAt: '2026-09-07T06:00:03.000Z',
          claimant: 'worker-a_1',
        });
        expect(later.status.lastOperationId).toBe('op-1');
        expect(await repo.get(tenant, spec.name)).toEqual(later);
      });

      it('returning undefined writes nothing and gives back the lab as it is', async () => {
        const spec = labSpec(tenant);
        const v1 = await repo.create(spec);
        const same = await repo.updateStatus(tenant, spec.name, () => undefined);
        expect(same).toEqual(v1);
        expect((await repo.get(tenant, spec.name))?.version).toBe(v1.version);
      });

      it('concurrent status writes all land (conflicts are retried on fresh data)', async () => {
        const spec = labSpec(tenant);
        await repo.create(spec);
        const ids = [200, 201, 202, 203].map((n) => person(n).id);
        await Promise.all(
          ids.map((id) => repo.updateStatus(tenant, spec.name, (s) => ({ ...s, failures: { ...s.failures, [id]: failure('VM_FAILED') } }))),
        );
        expect(Object.keys((await repo.get(tenant, spec.name))?.status.failures ?? {}).sort()).toEqual(ids);
      });

      it('of a missing lab answers NotFoundError LAB_NOT_FOUND', async () => {
        await expect(repo.updateStatus(tenant, 'nope', (s) => s)).rejects.toMatchObject({ kind: 'not_found', code: 'LAB_NOT_FOUND' });
      });
    });

    describe('delete', () => {
      it('removes the lab (true), then there is nothing to delete (false)', async () => {
        const spec = labSpec(tenant);
        await repo.create(spec);
        expect(await repo.delete(tenant, spec.name)).toBe(true);
        expect(await repo.get(tenant, spec.name)).toBeUndefined();
        expect(await repo.list(tenant)).toEqual([]);
        expect(await repo.delete(tenant, spec.name)).toBe(false);
      });
    });

    describe('watch', () => {
      it('delivers creates, spec and status changes, and deletes with the last known state; nothing after unsubscribing', async () => {
        const events: LabEvent[] = [];
        const stop = repo.watch((e) => events.push(e));
        const spec = labSpec(tenant);
        await repo.create(spec);
        await repo.update(tenant, spec.name, { ...spec, displayName: 'Renamed' });
        await repo.updateStatus(tenant, spec.name, (s) => ({ ...s, lastOperationId: 'op-9' }));
        await repo.delete(tenant, spec.name);
        const last = await eventually(() => events.find((e) => e.type === 'deleted'));
        expect(last).toMatchObject({ tenant, name: spec.name, lab: { displayName: 'Renamed', status: { lastOperationId: 'op-9' } } });
        const changed = events.filter((e) => e.type === 'changed');
        expect(changed[0]?.lab.displayName).toBe('Operating Systems 2026');
        expect(changed.some((e) => e.lab.displayName === 'Renamed' && e.lab.generation === 2)).toBe(true);
        expect(changed.some((e) => e.lab.status.lastOperationId === 'op-9')).toBe(true);
        stop();
        const count = events.length;
        await repo.create(labSpec(tenant));
        // Real time: after stop() no event may come, and the Kubernetes adapter's watch runs on
        // real time; 100 ms is the window in which a wrong event would show.
        await new Promise((r) => setTimeout(r, 100));
        expect(events).toHaveLength(count);
      });
    });
  });
}
