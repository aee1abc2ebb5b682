import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take far longer than the rest (tens of seconds: real child processes killed with
 * SIGKILL, whole labs provisioned, a recorded RBAC scenario, a fuzz run, browsers). Started first in
 * their project (slowest first, as measured), so the workers do not end with one of them running a long file alone. vitest
 * does this by itself from its results cache, which a clean clone (CI) does not have. Measured:
 * the slowest, lab-provisioning, 54 s in a 368 s run; order matters only for the wall time, never the outcome.
 */
const SLOW_FIRST = [
  'test/labs/lab-provisioning.test.ts',
  'test/security/fuzz.test.ts',
  'test/vms/reimage.test.ts',
  'test/faults/sigkill.test.ts',
  'test/vms/vm-copies.test.ts',
  'clients/typescript/test/cli.test.ts',
  'test/rbac/least-privilege.test.ts',
  'test/identity/vm-identity-flow.test.ts',
  'test/api/conditional-requests.test.ts',
  'test/labs/lab-e2e.test.ts',
  'test/browser/lti-e2e.test.ts',
  'test/vms/snapshots.test.ts',
  'test/startup/start-failures.test.ts',
  'test/api/queue-dashboard-queues.redis.test.ts',
  'test/api/try-it-out.test.ts',
  'test/labs/lab-cost-controls.test.ts',
  'test/usage/auto-shutdown-e2e.test.ts',
  'test/api/redis-down.test.ts',
  'test/deploy/overlays.test.ts',
  'test/vms/vm-quota-access.test.ts',
  'test/vms/node-evacuate.test.ts',
];

function rank(file: TestSpecification): number {
  const path = file.moduleId.replaceAll('\\', '/');
  const i = SLOW_FIRST.findIndex((s) => path.endsWith(`/${s}`));
  return i < 0 ? SLOW_FIRST.length : i;
}

/** vitest's own order (projects apart, cached durations when known), with the known-slow files first within each project. */
export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const byProject = new Map<string, TestSpecification[]>();
    for (const f of sorted) {
      const group = byProject.get(f.project.name) ?? [];
      group.push(f);
      byProject.set(f.project.name, group);
    }
    return [...byProject.values()].flatMap((group) =>
      group
        .map((f, i) => ({ f, i }))
        .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
        .map(({ f }) => f),
    );
  }
}
