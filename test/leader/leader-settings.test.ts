import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { configError } from '../support/config-error.js';
import { startTestApp } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

// Real time: the embedded stack campaigns over HTTP against its simulated API server.
const waitUntil = async (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => {
  await eventually(check, timeoutMs, what);
};

describe('leader election settings', () => {
  it("default to client-go's timings, the lease labplane-loops in labplane-system and recovery every minute", () => {
    const c = loadConfig({});
    expect(c.controlNamespace).toBe('labplane-system');
    expect(c.leader).toEqual({ leaseName: 'labplane-loops', leaseMs: 15_000, renewMs: 10_000, retryMs: 2_000, podName: undefined });
    expect(c.recoveryIntervalMs).toBe(60_000);
  });

  it('read CONTROL_NAMESPACE, POD_NAME, the timings and RECOVERY_INTERVAL_MS', () => {
    const c = loadConfig({
      CONTROL_NAMESPACE: 'lp',
      POD_NAME: 'labplane-worker-7d9f',
      LEADER_LEASE_MS: '3000',
      LEADER_RENEW_MS: '2000',
      LEADER_RETRY_MS: '500',
      RECOVERY_INTERVAL_MS: '5000',
    });
    expect(c.controlNamespace).toBe('lp');
    expect(c.leader).toMatchObject({ leaseMs: 3_000, renewMs: 2_000, retryMs: 500, podName: 'labplane-worker-7d9f' });
    expect(c.recoveryIntervalMs).toBe(5_000);
  });

  it.each([
    [{ CONTROL_NAMESPACE: 'Labplane_System' }, 'CONTROL_NAMESPACE'],
    [{ LEADER_LEASE_MS: '10000' }, 'LEADER_RENEW_MS'],
    [{ LEADER_RETRY_MS: '9000' }, 'LEADER_RETRY_MS'],
    [{ RECOVERY_INTERVAL_MS: '10' }, 'RECOVERY_INTERVAL_MS'],
  ])('%o is refused naming %s', (env, setting) => {
    expect(configError(env).setting).toBe(setting);
  });
});

describe('the embedded default', () => {
  it('campaigns on the simulated cluster like on a real one: it holds the Lease and says so on /metrics', async () => {
    const t = await startTestApp();
    try {
      await waitUntil('leadership', () => t.deps.leadership.isLeader());
      const lease = t.deps.emulator?.store.get('leases.coordination.k8s.io', 'labplane-system', 'labplane-loops') as unknown as {
        spec: { holderIdentity: string };
      };
      expect(lease.spec.holderIdentity).toBe(t.deps.leadership.identity);
      const metrics = await request(t.app.server).get('/metrics');
      expect(metrics.text).toContain(`labplane_leader{identity="${t.deps.leadership.identity}",lease="labplane-system/labplane-loops"} 1`);
      await t.deps.background.stop();
      expect(t.deps.leadership.isLeader()).toBe(false);
      const released = t.deps.emulator?.store.get('leases.coordination.k8s.io', 'labplane-system', 'labplane-loops') as unknown as {
        spec: { holderIdentity: string };
      };
      expect(released.spec.holderIdentity).toBe('');
      expect((await request(t.app.server).get('/metrics')).text).toContain(
        `labplane_leader{identity="${t.deps.leadership.identity}",lease="labplane-system/labplane-loops"} 0`,
      );
    } finally {
      await t.close();
    }
  });
});
