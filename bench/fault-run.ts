// The fault run (issue #12 item 7; not a test, a script anyone can repeat: `npm run fault-run`).
// Loopback only, bounded in time (printed at start). Starts a deployment in processes (the
// Kubernetes API emulator, a private redis-server, the API, a worker; the ARM stand-in with the VMs'
// Arc agents in this process), asks the API for a lab of 50 students with Arc on, and while it
// provisions, in turn: kills the worker (SIGKILL) and starts another, stops Redis for 5 s and starts
// it again, freezes the Kubernetes API server (SIGSTOP) for 10 s. Then prints each check with PASS or
// FAIL and exits 0 only when all pass.
//
// Redis runs with an append-only file (fsync every second) in a temporary directory: without
// persistence a restarted Redis is empty, every queued job and operation record gone, which is a
// lost deployment rather than an outage (production Redis for BullMQ is configured with AOF too).
// It is stopped with SIGTERM, as an operator or a node drain would.
// Usage: npm run fault-run [-- --students 50 --bound-s 300]
import { arcMachineName } from '../src/domain/identity/arc-machine.js';
import { Redis } from 'ioredis';
import { startDeployment, type Deployment } from '../test/faults/support.js';
import { until } from '../test/support/processes.js';
import { benchTenantBody } from './support/tenant.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const STUDENTS = arg('students', 50);
const BOUND_S = arg('bound-s', 300);
const TENANT = 'fault-run';
const LAB = 'fault-lab';
const FINAL = ['succeeded', 'failed', 'canceled'];
type Op = { kind: string; status: string; target?: { name?: string }; finishedAt?: string; error?: unknown };
/**
 * Redis keys the run may leave at most. Per student: operation records of lab.student, vm.create
 * and vm.identity (record, events stream, index entries), delivery/idempotency entries and their
 * BullMQ jobs until cleaned: about 30 keys; plus fixed keys (queues' metadata, indexes, leases): 500.
 */
const keyBound = (students: number) => 30 * students + 500;

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const elapsedAt = (iso: unknown) => (typeof iso === 'string' ? `${((Date.parse(iso) - t0) / 1000).toFixed(1)} s` : '?');
const log = (msg: string) => console.log(`[${elapsed().padStart(7)}] ${msg}`);
console.log(
  `fault run: a lab of ${STUDENTS} students with Arc; worker SIGKILL, Redis stopped 5 s, Kubernetes API frozen 10 s; bound ${BOUND_S} s (loopback only)`,
);
const deadline = setTimeout(() => {
  console.log(`FAIL the run did not finish within its bound of ${BOUND_S} s`);
  void d?.close().finally(() => process.exit(2));
}, BOUND_S * 1000);

let d: Deployment | undefined;
const checks: Array<{ name: string; ok: boolean; detail: string }> = [];
const check = (name: string, ok: boolean, detail: string) => {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
};

try {
  d = await startDeployment({ redisAppendOnly: true, workerEnv: { WORKER_CONCURRENCY: '32' } });
  const dep = d;
  log(`deployment up: API ${dep.api.url}, Kubernetes ${dep.kube.url}, Redis ${dep.redis.url}`);
  const created = await dep.call('POST', '/v1/tenants', benchTenantBody(TENANT, 'Fault run', STUDENTS + 10));
  if (created.status !== 201) throw new Error(`tenant: ${created.status} ${JSON.stringify(created.body)}`);
  const uuid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  const students = Array.from({ length: STUDENTS }, (_, i) => ({ id: uuid(0x1000 + i), email: `s${i}@uni.example`, displayName: `Student ${i}` }));
  const res = await dep.call('POST', `/v1/tenants/${TENANT}/labs`, {
    name: LAB,
    template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', arc: true },
    instructors: [{ id: uuid(0xffff), displayName: 'Instructor' }],
    students,
  });
  if (res.status !== 202) throw new Error(`lab: ${res.status} ${JSON.stringify(res.body)}`);
  const labOp = String(res.body.id);
  log(`lab requested (operation ${labOp})`);

  const labVms = async () =>
    (
      await dep.kube
        .list(`/apis/kubevirt.io/v1/namespaces/${TENANT}/virtualmachines?labelSelector=${encodeURIComponent(`labplane.io/lab=${LAB}`)}`)
        .catch(() => [])
    ).length;
  const labStatus = async () =>
    String((await dep.call('GET', `/v1/operations/${labOp}`).catch(() => ({ body: { status: 'unknown' } }))).body?.status);
  const whenVms = (n: number) =>
    until(
      async () => (await labVms()) >= n || FINAL.includes(await labStatus()),
      120_000,
      () => `${n} lab VMs`,
    );

  await whenVms(Math.ceil(STUDENTS * 0.2));
  log(`fault 1: kill -9 the worker (${await labVms()} VMs, lab ${await labStatus()})`);
  await dep.workers.at(-1)?.kill9();
  await dep.startWorker();
  log('a new worker runs');

  await whenVms(Math.ceil(STUDENTS * 0.5));
  log(`fault 2: stop Redis for 5 s (${await labVms()} VMs, lab ${await labStatus()})`);
  await dep.redis.stop();
  // A fixed real-time wait: the fault is an outage of this length.
  await new Promise((r) => setTimeout(r, 5_000));
  await dep.redis.start();
  log('Redis is back');

  await whenVms(Math.ceil(STUDENTS * 0.7));
  log(`fault 3: freeze the Kubernetes API server for 10 s (${await labVms()} VMs, lab ${await labStatus()})`);
  dep.kube.proc.freeze();
  await new Promise((r) => setTimeout(r, 10_000));
  dep.kube.proc.thaw();
  log('the Kubernetes API server answers again');

  const lab = await dep.settle(labOp, (BOUND_S - 30) * 1000 - (Date.now() - t0));
  log(`lab operation ${String(lab['status'])}: ${JSON.stringify(lab['result']?.summary ?? lab['error'] ?? {})}`);
  const ops = await until(
    async () => {
      const items: Op[] = [];
      let cursor: string | undefined;
      do {
        const page = await dep.call(
          'GET',
          `/v1/operations?tenant=${TENANT}&limit=200${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
        );
        items.push(...(page.body.items as Op[]));
        cursor = page.body.nextCursor ?? undefined;
      } while (cursor !== undefined);
      return items.every((o) => FINAL.includes(o.status)) ? items : undefined;
    },
    Math.max(1_000, (BOUND_S - 20) * 1000 - (Date.now() - t0)),
    () => 'every operation to end',
  ).catch(() => undefined);

  // Operations final.
  check('lab operation succeeded', lab['status'] === 'succeeded', `status ${String(lab['status'])}`);
  if (ops === undefined) check('operations final', false, 'some operations are still open');
  else {
    const byKind = new Map<string, Map<string, number>>();
    for (const o of ops) {
      const m = byKind.get(o.kind) ?? new Map<string, number>();
      m.set(o.status, (m.get(o.status) ?? 0) + 1);
      byKind.set(o.kind, m);
    }
    const summary = [...byKind.entries()].map(([k, m]) => `${k} ${[...m.entries()].map(([s, n]) => `${n} ${s}`).join('/')}`).join(', ');
    check('operations final', true, `${ops.length} operations: ${summary}`);
    for (const o of ops.filter((x) => x.status !== 'succeeded').slice(0, 10)) {
      log(`  ${o.kind} ${String(o.target?.name)} ${o.status} at ${elapsedAt(o.finishedAt)}: ${JSON.stringify(o.error ?? {}).slice(0, 300)}`);
    }
  }
  const summary = (lab['result']?.summary ?? {}) as { ready?: number; failed?: number };
  check('every student provisioned', summary.ready === STUDENTS && (summary.failed ?? 0) === 0, `lab summary ${JSON.stringify(summary)}`);

  // VMs exactly once.
  type Obj = {
    metadata: {
      name: string;
      namespace?: string;
      uid?: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
      ownerReferences?: Array<{ kind: string; uid: string }>;
    };
  };
  const vms = (await dep.kube.list(`/apis/kubevirt.io/v1/namespaces/${TENANT}/virtualmachines`)) as Obj[];
  const owners = new Map<string, number>();
  for (const vm of vms) {
    const o = vm.metadata.annotations?.['labplane.io/owner-id'] ?? '';
    owners.set(o, (owners.get(o) ?? 0) + 1);
  }
  const missing = students.filter((s) => owners.get(s.id) === undefined).length;
  const twice = students.filter((s) => (owners.get(s.id) ?? 0) > 1).length;
  check(
    'VMs exactly once',
    vms.length === STUDENTS && missing === 0 && twice === 0,
    `${vms.length} VMs for ${STUDENTS} students; ${missing} students without, ${twice} with more than one`,
  );

  // Arc extensions and role assignments exactly once.
  const state = dep.arm.server.state;
  const extPerMachine = new Map<string, number>();
  for (const e of state.extensions.values()) extPerMachine.set(e.machine.toLowerCase(), (extPerMachine.get(e.machine.toLowerCase()) ?? 0) + 1);
  const vmNames = vms.map((v) => arcMachineName(TENANT, v.metadata.name).toLowerCase());
  const extOk = vmNames.filter((n) => extPerMachine.get(n) === 1).length;
  check(
    'Arc extension exactly once per VM',
    extOk === vmNames.length && [...extPerMachine.values()].every((n) => n === 1),
    `${extOk}/${vmNames.length} machines with one extension; ${dep.arm.server.count('PUT', '/extensions/')} extension PUTs`,
  );
  const pairs = new Map<string, number>();
  for (const a of state.assignments.values()) {
    const key = `${a.scope.toLowerCase()} ${a.principalId.toLowerCase()}`;
    pairs.set(key, (pairs.get(key) ?? 0) + 1);
  }
  const dupes = [...pairs.values()].filter((n) => n > 1).length;
  const studentsGranted = students.filter((s) => {
    const vm = vms.find((v) => v.metadata.annotations?.['labplane.io/owner-id'] === s.id);
    return vm !== undefined && pairs.get(`${state.machineId(arcMachineName(TENANT, vm.metadata.name)).toLowerCase()} ${s.id}`) === 1;
  }).length;
  check(
    'role assignments exactly once',
    dupes === 0 && studentsGranted === STUDENTS,
    `${state.assignments.size} assignments, ${dupes} (scope, principal) pairs with more than one; ${studentsGranted}/${STUDENTS} students hold one on their VM`,
  );

  // No orphans: objects we label or own whose VM is gone, and staged cloud-init nothing will consume.
  const uids = new Set(vms.map((v) => v.metadata.uid));
  const names = new Set(vms.map((v) => v.metadata.name));
  const orphans: string[] = [];
  for (const [what, path] of [
    ['Secret', `/api/v1/namespaces/${TENANT}/secrets`],
    ['DataVolume', `/apis/cdi.kubevirt.io/v1beta1/namespaces/${TENANT}/datavolumes`],
    ['PVC', `/api/v1/namespaces/${TENANT}/persistentvolumeclaims`],
  ] as const) {
    for (const o of (await dep.kube.list(path)) as Obj[]) {
      const vmOwners = (o.metadata.ownerReferences ?? []).filter((r) => r.kind === 'VirtualMachine' || r.kind === 'DataVolume');
      const labelled = o.metadata.labels?.['labplane.io/vm'];
      const owned =
        vmOwners.length > 0 ? vmOwners.some((r) => uids.has(r.uid) || r.kind === 'DataVolume') : labelled === undefined || names.has(labelled);
      if (!owned) orphans.push(`${what} ${o.metadata.name}`);
    }
  }
  const staged = (await dep.kube.list(
    `/api/v1/namespaces/labplane-system/secrets?labelSelector=${encodeURIComponent('labplane.io/cloud-init-staged=true')}`,
  )) as Obj[];
  for (const s of staged) orphans.push(`staged cloud-init ${s.metadata.name}`);
  check(
    'no orphans',
    orphans.length === 0,
    orphans.length === 0 ? 'no labelled Secret, DataVolume or PVC without its VM, no staged cloud-init left' : orphans.slice(0, 10).join(', '),
  );

  // Redis keys bounded.
  const redis = new Redis(dep.redis.url, { maxRetriesPerRequest: 1 });
  const keys = await redis.dbsize();
  const info = await redis.info('memory');
  await redis.quit();
  const used = /used_memory_human:(\S+)/.exec(info)?.[1] ?? '?';
  check('Redis keys bounded', keys <= keyBound(STUDENTS), `${keys} keys (bound ${keyBound(STUDENTS)} = 30 per student + 500), ${used} used`);
} catch (err) {
  check('run completed', false, err instanceof Error ? err.message.split('\n').slice(0, 6).join(' | ') : String(err));
} finally {
  clearTimeout(deadline);
  await d?.close();
}
const failed = checks.filter((c) => !c.ok).length;
console.log(`${failed === 0 ? 'ALL CHECKS PASS' : `${failed} CHECK(S) FAIL`} in ${elapsed()}`);
process.exit(failed === 0 ? 0 : 1);
