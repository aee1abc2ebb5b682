import { describe, expect, it, vi } from 'vitest';
import { labStudentJob } from '../../src/jobs/kinds/lab-student.js';
import type { LabJobDeps } from '../../src/jobs/kinds/lab-job-support.js';
import type { OperationRecord } from '../../src/domain/operations/operation.js';

/**
 * `ensure-vm` run again after a crash or a Redis outage, before the VM its first run asked for is in
 * the VM cache: the fault run (bench/fault-run.ts) saw it ask a second `vm.create`, which failed
 * VM_EXISTS, and the student was reported failed although the first one made their VM.
 */
const op = {
  id: 'op-student',
  kind: 'lab.student',
  status: 'running',
  input: { tenant: 't1', lab: 'lab-1', student: 's1', vm: 'lab-1-s1', mode: 'provision' },
} as unknown as OperationRecord;
const lab = {
  name: 'lab-1',
  students: [{ id: 's1' }],
  instructors: [],
  status: {},
  template: {
    arc: true,
    image: { scope: 'platform', name: 'img' },
    instanceType: 'small',
    diskGi: 10,
    storageClass: 'kv',
    sshPublicKeys: [],
    studentRole: 'user',
  },
};

function depsWith(children: Array<Partial<OperationRecord>>) {
  const create = vi.fn(async () => ({}));
  const deps = {
    labs: { get: async () => lab, updateStatus: async () => undefined, delete: async () => undefined },
    vmRepo: { get: async () => undefined, list: async () => [], update: async () => undefined },
    vms: { create, delete: async () => undefined },
    operations: { start: async () => undefined },
    children: async () => children as OperationRecord[],
    getOperation: async () => undefined,
  } as unknown as LabJobDeps;
  return { deps, create };
}

describe('lab.student ensure-vm run again before the VM is cached', () => {
  it.each(['queued', 'running', 'succeeded'])('follows the vm.create already asked (%s) instead of asking another', async (status) => {
    const { deps, create } = depsWith([{ id: 'c1', kind: 'vm.create', status } as Partial<OperationRecord>]);
    const outcome = await labStudentJob(deps).steps['ensure-vm']?.({ operation: op } as never);
    expect(outcome).toMatchObject({ type: 'next', step: 'wait' });
    expect(create).not.toHaveBeenCalled();
  });

  it('asks again when the earlier vm.create failed, or there was none', async () => {
    for (const children of [[{ id: 'c1', kind: 'vm.create', status: 'failed' }], []] as Array<Array<Partial<OperationRecord>>>) {
      const { deps, create } = depsWith(children);
      await labStudentJob(deps).steps['ensure-vm']?.({ operation: op } as never);
      expect(create).toHaveBeenCalledTimes(1);
    }
  });
});
