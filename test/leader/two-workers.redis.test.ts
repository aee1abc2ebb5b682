import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { deletePrefix, REDIS_URL, waitFor } from '../jobs/helpers.js';
import { spawnWorker, type Proc } from '../support/processes.js';
import { writeKubeconfig } from '../startup/support.js';

/**
 * Two `npm run worker` processes against ONE cluster (the emulator, in this process, reached through
 * a kubeconfig) and ONE Redis. Real time and real processes on purpose: what is tested is that two
 * OS processes elect one leader over HTTP and that SIGKILL of the leader hands the loops over. Lease
 * timings are shortened (lease 3 s, renew 2 s, retry 0.5 s) to keep it within ~20 s.
 *
 * The job settings have no Redis key prefix, so the workers get a Redis database of their own
 * (shared default keys would let them take other test files' jobs); only their keys are deleted.
 */
const LEASE_MS = 3_000;
const RETRY_MS = 500;
const DIRECTORY = '7a2c9f4e-0d1b-4c3a-9e8f-112233445566';
const TENANT = 'lead-t';
const LEASE_KEY = 'leases.coordination.k8s.io';
const redisUrl = (() => {
  const u = new URL(REDIS_URL);
  u.pathname = '/13';
  return u.toString();
})();

let em: KubeEmulator;
let kubeconfig: string;
const procs: Proc[] = [];
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });

function startWorker(name: string): Proc {
  const proc = spawnWorker(
    name,
    {
      kubeconfig,
      redisUrl,
      directory: DIRECTORY,
      audience: 'api://labplane-test',
      extra: {
        LEADER_LEASE_MS: String(LEASE_MS),
        LEADER_RENEW_MS: '2000',
        LEADER_RETRY_MS: String(RETRY_MS),
        LAB_TICK_MS: '200',
        WORKER_CONCURRENCY: '2',
      },
    },
    'src/main/worker.ts',
  );
  procs.push(proc);
  return proc;
}

const logged = (p: Proc, msg: string): boolean => p.logged(msg);
const holder = (): string =>
  ((em.store.get(LEASE_KEY, 'labplane-system', 'labplane-loops')?.spec ?? {}) as { holderIdentity?: string }).holderIdentity ?? '';
const leaseSpec = () => (em.store.get(LEASE_KEY, 'labplane-system', 'labplane-loops')?.spec ?? {}) as Record<string, string | number>;
const scheduleOf = (lab: string) =>
  ((em.store.get('labs.labplane.io', TENANT, lab)?.status ?? {}) as { schedule?: { operationId?: string; action?: string } }).schedule;

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${em.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
}

/** A lab whose course ends `inMs` from now: its `end` event falls due then. */
async function labEndingIn(name: string, inMs: number): Promise<void> {
  await post(`/apis/labplane.io/v1alpha1/namespaces/${TENANT}/labs`, {
    apiVersion: 'labplane.io/v1alpha1',
    kind: 'Lab',
    metadata: { name },
    spec: {
      template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 2, memoryGi: 4, diskGi: 20, storageClass: 'kv-standard' },
      endsAt: new Date(Date.now() + inMs).toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  });
}

beforeAll(async () => {
  em = await startKubeEmulator();
  for (const ns of ['labplane-system', TENANT]) await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  kubeconfig = writeKubeconfig(em.url);
  // Booting two workers (each loads the whole service through tsx) takes ~5 s on an idle machine and
  // several times that on a busy one: the bound is generous, the scenario itself has its own.
  startWorker('worker-a');
  startWorker('worker-b');
  await waitFor(() => procs.every((p) => logged(p, 'worker started')), 50_000, `both workers to start\n${diagnose()}`);
}, 55_000);

function diagnose(): string {
  return procs.map((p) => p.tail(5)).join('\n');
}

afterAll(async () => {
  for (const p of procs) await p.kill9();
  await em?.close();
  await deletePrefix(redis, 'labplane');
  await deletePrefix(redis, 'lp-bull');
  await redis.quit();
});

describe('two workers, one cluster, one Redis', () => {
  it('one leads the loops; after SIGKILL the other takes over within the lease duration; each schedule event is applied once', async () => {
    const [a, b] = procs as [Proc, Proc];
    await waitFor(() => holder() !== '' && procs.some((p) => logged(p, 'became the leader')), 5_000, 'a leader');

    const leader = holder().startsWith('worker-a_') ? a : b;
    const follower = leader === a ? b : a;
    expect(logged(leader, 'became the leader')).toBe(true);
    expect(logged(follower, 'became the leader')).toBe(false);
    expect(leader.logs.find((l) => l.msg === 'worker started')).toBeDefined();

    await labEndingIn('before-kill', 0);
    await waitFor(() => scheduleOf('before-kill')?.operationId, 5_000, 'the leader to apply the first event');
    expect(logged(follower, 'lab schedule event applied')).toBe(false);

    await labEndingIn('during-failover', 1_000);
    await leader.kill9();
    const last = leaseSpec();
    await waitFor(() => logged(follower, 'became the leader'), LEASE_MS + 3 * RETRY_MS + 3_000, `the follower to take over\n${diagnose()}`);
    const taken = leaseSpec();
    expect(taken.holderIdentity).toMatch(/^worker-[ab]_/);
    expect(taken.holderIdentity).not.toBe(last.holderIdentity);
    expect(taken.leaseTransitions).toBe(Number(last.leaseTransitions) + 1);
    // Both instants were written by the workers' own clocks: the takeover waited the lease duration
    // after the dead leader's last renewal, and not much more (lease + the longest jittered retry).
    const gapMs = Date.parse(String(taken.acquireTime)) - Date.parse(String(last.renewTime));
    expect(gapMs).toBeGreaterThanOrEqual(LEASE_MS);
    expect(gapMs).toBeLessThanOrEqual(LEASE_MS + 2.2 * RETRY_MS + 1_500);

    await waitFor(() => scheduleOf('during-failover')?.operationId, 5_000, 'the new leader to apply the event that fell due during the failover');
    await labEndingIn('after-failover', 0);
    await waitFor(() => scheduleOf('after-failover')?.operationId, 5_000, 'the new leader to apply a later event');

    const store = createRedisOperationStore({ redis, prefix: 'labplane', retentionMs: 3_600_000 });
    const ops = (await store.list({ kind: 'lab.power' }, { limit: 100 })).items;
    expect(ops.map((o) => o.target.name).sort()).toEqual(['after-failover', 'before-kill', 'during-failover']);
    for (const lab of ['before-kill', 'during-failover', 'after-failover']) {
      expect(ops.find((o) => o.target.name === lab)?.id).toBe(scheduleOf(lab)?.operationId);
    }

    const firstLine = (p: Proc, msg: string) => p.logs.findIndex((l) => typeof l.msg === 'string' && l.msg.startsWith(msg));
    expect(firstLine(follower, 'lab schedule event applied')).toBeGreaterThan(firstLine(follower, 'became the leader'));

    expect(await follower.stop()).toBe(0);
    expect(holder()).toBe('');
  }, 25_000);
});
