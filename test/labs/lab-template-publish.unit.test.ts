import { describe, expect, it } from 'vitest';
import { createMemoryLabRepository } from '../../src/adapters/memory/lab-repository.js';
import { makePrincipal, type Principal } from '../../src/domain/auth/principal.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import { createLabTemplateService, type VmImagePublisher } from '../../src/domain/labs/lab-template.js';
import type { Operation, OperationRecord } from '../../src/domain/operations/operation.js';
import { labTemplatePublishJob } from '../../src/jobs/kinds/lab-reimage.js';
import type { StepContext } from '../../src/jobs/job-kind.js';

/**
 * The template publish with a fake publisher standing for `vm.publish` (not in this build yet):
 * the child is started once, waited for, and its image becomes the lab's template image; a failed
 * publish fails the operation and leaves the lab's template alone.
 */
const SPEC: LabSpec = {
  tenant: 't1',
  name: 'net101',
  template: {
    image: { scope: 'platform', name: 'ubuntu-24-04' },
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
};

const PUBLISH_OP = {
  id: 'op-publish',
  kind: 'lab.template-publish',
  status: 'running',
  createdBy: 'olga',
  createdAt: '2026-12-07T00:00:00.000Z',
  input: { tenant: 't1', lab: 'net101', vm: 'net101-template', image: 'net101-v2' },
} as unknown as OperationRecord;

async function setup() {
  const labs = createMemoryLabRepository();
  await labs.create(SPEC);
  const children: OperationRecord[] = [];
  const calls: Array<{ p: Principal; tenant: string; vm: string; image?: string; parentId?: string }> = [];
  const publisher: VmImagePublisher = {
    async publish(p, tenant, vm, input, options) {
      calls.push({
        p,
        tenant,
        vm,
        ...(input.image === undefined ? {} : { image: input.image }),
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
      });
      const child = { id: `child-${calls.length}`, kind: 'vm.publish', status: 'running', input: { tenant, name: vm } } as unknown as OperationRecord;
      children.push(child);
      return child as unknown as Operation;
    },
  };
  const unused = async (): Promise<never> => {
    throw new Error('not used here');
  };
  const templates = createLabTemplateService({
    labs,
    vmRepo: { list: async () => [] },
    vms: { create: unused, get: unused },
    reimage: { reimage: unused },
    tenants: { get: unused, usage: unused },
    operations: { start: unused },
    publisher,
  });
  const job = labTemplatePublishJob({
    labs,
    templates,
    publisher,
    children: async () => children,
    store: { mutate: async () => undefined },
    recheckMs: 10,
  });
  const run = (step: string) =>
    job.steps[step]!({ operation: PUBLISH_OP, step, attempt: 1, signal: new AbortController().signal, report: async () => {} } as StepContext);
  return { labs, children, calls, run };
}

describe('lab.template-publish', () => {
  it('starts one vm.publish child, waits for it, then points the lab template at the published image', async () => {
    const { labs, children, calls, run } = await setup();
    expect(await run('publish')).toEqual({ type: 'next', step: 'wait', progress: 10 });
    // A re-run (after a crash) finds its child and starts no second one.
    await run('publish');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ tenant: 't1', vm: 'net101-template', image: 'net101-v2', parentId: 'op-publish' });
    expect(calls[0]?.p).toEqual(makePrincipal({ id: 'olga', platformAdmin: true }));
    expect(await run('wait')).toMatchObject({ type: 'recheck' });
    expect((await labs.get('t1', 'net101'))?.template.image).toEqual({ scope: 'platform', name: 'ubuntu-24-04' });

    Object.assign(children[0]!, { status: 'succeeded', result: { image: { scope: 'tenant', name: 'net101-v2' }, version: 3 } });
    const done = await run('wait');
    expect(done).toEqual({
      type: 'done',
      result: {
        tenant: 't1',
        lab: 'net101',
        vm: 'net101-template',
        image: { scope: 'tenant', name: 'net101-v2' },
        version: 3,
        publishOperationId: 'child-1',
      },
    });
    const lab = await labs.get('t1', 'net101');
    expect(lab?.template).toEqual({ ...SPEC.template, image: { scope: 'tenant', name: 'net101-v2' } });
    // The roster is untouched: students are not reprovisioned by a publish.
    expect(lab?.students).toEqual([]);
  });

  it('a failed publish fails the operation with TEMPLATE_PUBLISH_FAILED and leaves the template alone', async () => {
    const { labs, children, run } = await setup();
    await run('publish');
    Object.assign(children[0]!, { status: 'failed', error: { code: 'UPSTREAM_REJECTED', title: 'x', detail: 'the clone failed' } });
    await expect(run('wait')).rejects.toMatchObject({ code: 'TEMPLATE_PUBLISH_FAILED', details: { operationId: 'child-1' } });
    expect((await labs.get('t1', 'net101'))?.template.image).toEqual(SPEC.template.image);
  });
});
