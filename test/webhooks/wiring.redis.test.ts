import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import type { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryOperationEvents } from '../../src/adapters/memory/index.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import { tapOperationEvents } from '../../src/domain/webhooks/operation-tap.js';
import { startKubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { newOperationRecord, succeed } from '../../src/domain/operations/operation-lifecycle.js';
import { PROFILE_DEFAULTS, type Tenant } from '../../src/domain/tenants/tenant.js';
import { deliveryIdOf } from '../../src/domain/webhooks/delivery.js';
import type { JobEngine } from '../../src/jobs/job-engine.js';
import { loadConfig } from '../../src/main/config.js';
import { createTerminalTap, withWorkerLoops, type JobsRuntime } from '../../src/main/jobs.js';
import { createLogger } from '../../src/main/logger.js';
import { networkFor } from '../../src/main/simulated.js';
import { buildWebhooks } from '../../src/main/webhooks.js';
import { deletePrefix, REDIS_URL, redisClient, testPrefix } from '../jobs/helpers.js';
import { emulatorClient, rawClient } from '../kubernetes/support/kube-fixture.js';
import { anOperation, eventually, owner, startReceiver, verified } from './support.js';

const redis = redisClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

describe('wiring webhooks into the job runtime', () => {
  it('the process that runs the job worker also sends deliveries, and stops sending when it stops', async () => {
    const calls: string[] = [];
    const engine = {
      backend: 'fake',
      startWorker: async () => void calls.push('engine.start'),
      stop: async () => void calls.push('engine.stop'),
      close: async () => void calls.push('engine.close'),
    } as unknown as JobEngine;
    const jobs = { engine, dashboardQueues: ['jobs-queue'] } as unknown as JobsRuntime;
    const wrapped = withWorkerLoops(
      jobs,
      [{ start: async () => void calls.push('deliveries.start'), stop: async () => void calls.push('deliveries.stop') }],
      ['webhook-queue'],
    );
    await wrapped.engine.startWorker({ concurrency: 1 });
    await wrapped.engine.stop({ graceMs: 0 });
    expect(calls).toEqual(['engine.start', 'deliveries.start', 'deliveries.stop', 'engine.stop']);
    expect(wrapped.dashboardQueues).toEqual(['jobs-queue', 'webhook-queue']);
    expect(wrapped.engine.backend).toBe('fake');
  });

  it('with REDIS_URL: Secrets on the cluster, records in Redis, deliveries as BullMQ jobs, reached through the simulated network', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const receiver = await startReceiver(() => 200);
    const emulator = await startKubeEmulator({ namespaces: ['labplane-system'] });
    await rawClient(emulator.url).post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 't1' } });
    const config = loadConfig({ LOG_LEVEL: 'silent', REDIS_URL, SIM_WEBHOOK_ROUTES: `lms.example.edu=${receiver.origin}` });
    const tenant: Tenant = {
      id: 't1',
      displayName: 't1',
      profile: 'faculty',
      ...PROFILE_DEFAULTS.faculty,
      phase: 'Active',
      createdAt: new Date().toISOString(),
      version: '1',
    };
    // The job runtime's store, tapped as the composition root does (`createTerminalTap`).
    const terminal = createTerminalTap();
    const ops = terminal.store(createRedisOperationStore({ redis, prefix, publishTo: prefix }));
    const webhooks = await buildWebhooks(
      {
        operationStore: ops,
        config,
        logger: createLogger(config),
        clock: systemClock,
        world: { network: networkFor(config) },
        kube: emulatorClient(emulator.url),
        tenantRepo: { get: async (id) => (id === 't1' ? tenant : undefined) },
        auditLog: createMemoryAuditLog(),
      },
      { redisPrefix: prefix, bullPrefix: `${prefix}-bull` },
    );
    terminal.listen(webhooks.onTerminal);
    try {
      expect(webhooks.queue).toMatchObject({ name: 'bullmq', durable: true });
      expect(webhooks.dashboardQueues).toHaveLength(1);
      const created = await webhooks.service.create(owner('t1'), 't1', { url: 'https://lms.example.edu/in', events: ['vm.ready'] });
      await webhooks.startDelivery();
      const op = anOperation({ id: crypto.randomUUID() });
      // What the job runtime's events would publish when the VM's operation finished:
      await tapOperationEvents(createMemoryOperationEvents(), webhooks.onTerminal).publish(op);
      await eventually(() => receiver.received.length === 1, 15_000, 'the delivery');
      expect(verified(created.secret, receiver.received[0]!)).toMatchObject({ type: 'vm.ready', data: { vm: 'vm-1' } });
      const id = deliveryIdOf(`${op.id}.vm.ready`, created.webhook.id);
      await eventually(async () => (await webhooks.deliveries.get(id))?.status === 'succeeded');
      expect(await redis.exists(`${prefix}:whd:${id}`)).toBe(1);
      const dashboard = webhooks.dashboardQueues[0] as { name: string; getJob(id: string): Promise<{ data: unknown } | undefined> };
      expect(dashboard.name).toBe('labplane-webhooks');
      const job = await dashboard.getJob(`${id}:attempt:0`);
      expect(job?.data).toEqual({ operationId: id, step: 'attempt', generation: 0 });
      expect(JSON.stringify(job?.data)).not.toContain(created.secret);

      // The job runtime's store, tapped: the write that finishes an operation reaches the receiver
      // (the fast path), which marks the operation's outbox entry done.
      const queued = newOperationRecord(
        {
          id: crypto.randomUUID(),
          kind: 'vm.create',
          tenant: 't1',
          target: { type: 'vm', id: 't1/vm-2' },
          createdBy: 'olga',
          input: {},
          firstStep: 'create',
        },
        new Date(),
      );
      await ops.create(queued);
      await ops.mutate(queued.id, (cur) => succeed({ ...cur, status: 'running' }, { name: 'vm-2' }, new Date()));
      await eventually(() => receiver.received.length === 2, 15_000, 'the delivery of the finished operation');
      expect(verified(created.secret, receiver.received[1]!)).toMatchObject({ type: 'vm.ready', data: { vm: 'vm-2', operationId: queued.id } });
      await eventually(async () => (await ops.outbox.pending(new Date(Date.now() + 60_000), 10)).length === 0, 5_000, 'the outbox entry marked done');

      // A delivery job of the version before deliveries ran on the job transport is sent after the upgrade.
      await webhooks.stopDelivery();
      const legacyId = deliveryIdOf('legacy-op.vm.ready', created.webhook.id);
      await webhooks.deliveries.create({
        id: legacyId,
        tenant: 't1',
        webhookId: created.webhook.id,
        eventId: 'legacy-op.vm.ready',
        eventType: 'vm.ready',
        status: 'pending',
        attempts: 0,
        createdAt: new Date().toISOString(),
        payload: '{"id":"legacy-op.vm.ready"}',
      });
      const bull = webhooks.dashboardQueues[0] as Queue;
      await bull.add(
        'deliver',
        { deliveryId: legacyId, tenant: 't1', webhookId: created.webhook.id, eventId: 'legacy-op.vm.ready' },
        { jobId: legacyId, delay: 60_000 },
      );
      await webhooks.startDelivery();
      await eventually(
        async () => (await webhooks.deliveries.get(legacyId))?.status === 'succeeded',
        15_000,
        'the delivery queued by the previous version',
      );
      expect(receiver.received).toHaveLength(3);
      expect(await bull.getJob(legacyId)).toBeUndefined();
    } finally {
      await webhooks.stopDelivery();
      await webhooks.close();
      await emulator.close();
      await receiver.close();
    }
  });
});
