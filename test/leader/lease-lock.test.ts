import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLeaderElector } from '../../src/adapters/kubernetes/leader-election.js';
import { createKubeLeaseLock } from '../../src/adapters/kubernetes/lease-lock.js';
import { createNamespace, startCluster, type Cluster } from '../emulator/support.js';

/** The Lease lock against the emulator over HTTP, as client-node talks to a real API server. */
const NS = 'lock-ns';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
let c: Cluster;

beforeAll(async () => {
  c = await startCluster();
  await createNamespace(c, NS);
});
afterAll(async () => {
  await c.emu.close();
});

const lockFor = (name: string) =>
  createKubeLeaseLock({ kubeConfig: c.kc, namespace: NS, name, timeoutMs: 2_000, labels: { 'app.kubernetes.io/part-of': 'labplane' } });

describe('Kubernetes Lease lock', () => {
  it('reads nothing, creates, updates with the version, and a stale version is a VERSION_CONFLICT', async () => {
    const lock = lockFor('l1');
    expect(await lock.get()).toBeUndefined();
    const t0 = new Date('2026-12-06T10:00:00.123Z');
    const created = await lock.create({ holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: t0, renewTime: t0, leaseTransitions: 0 });
    const stored = c.emu.store.get('leases.coordination.k8s.io', NS, 'l1') as unknown as {
      spec: Record<string, unknown>;
      metadata: { labels: Record<string, string> };
    };
    expect(stored.spec.renewTime).toBe('2026-12-06T10:00:00.123000Z');
    expect(stored.metadata.labels['app.kubernetes.io/part-of']).toBe('labplane');
    const read = await lock.get();
    expect(read).toEqual(created);
    expect(read?.record.renewTime?.toISOString()).toBe('2026-12-06T10:00:00.123Z');
    const t1 = new Date('2026-12-06T10:00:02Z');
    const renewed = await lock.update({ ...created.record, renewTime: t1 }, created.version);
    expect(renewed.version).not.toBe(created.version);
    await expect(lock.update({ ...created.record, holderIdentity: 'b' }, created.version)).rejects.toMatchObject({ code: 'VERSION_CONFLICT' });
    await expect(lock.create(created.record)).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('an elector over it acquires, renews and releases the Lease on the server', async () => {
    const e = createLeaderElector({
      lock: lockFor('l2'),
      identity: 'pod-1_x',
      leaseDurationMs: 3_000,
      renewDeadlineMs: 2_000,
      retryPeriodMs: 100,
      logger: silent,
    });
    const led = new Promise<void>((resolve) =>
      e.onChange((leading) => {
        if (leading) resolve();
      }),
    );
    e.start();
    await led;
    const lease = () => c.emu.store.get('leases.coordination.k8s.io', NS, 'l2') as unknown as { spec: Record<string, unknown> };
    expect(lease().spec).toMatchObject({ holderIdentity: 'pod-1_x', leaseDurationSeconds: 3, leaseTransitions: 0 });
    await e.stop();
    expect(lease().spec).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
  });
});
