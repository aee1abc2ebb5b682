import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createMemoryOperationStore } from '../../src/adapters/memory/operation-store.js';
import { createMemoryWebhookRepository } from '../../src/adapters/memory/webhook-repository.js';
import { createMemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import { createRedisOperationStore } from '../../src/adapters/redis/operation-store.js';
import { createRedisDeliveryStore } from '../../src/adapters/redis/webhook-deliveries.js';
import { createSimulatedWebhookNetwork } from '../../src/adapters/sim/sim-webhook-network.js';
import { newOperationRecord, succeed } from '../../src/domain/operations/operation-lifecycle.js';
import type { Operation, OperationRecord } from '../../src/domain/operations/operation.js';
import type { OperationStore } from '../../src/domain/operations/operation-store.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { systemClock, type Clock } from '../../src/domain/shared/ids.js';
import type { DeliveryQueue, DeliveryStore } from '../../src/domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../../src/domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../src/domain/webhooks/dispatcher.js';
import { tapOperationStore } from '../../src/domain/webhooks/operation-tap.js';
import { newWebhookSecret } from '../../src/domain/webhooks/signing.js';
import type { NewWebhookRecord } from '../../src/domain/webhooks/webhook.js';
import { createTransportDeliveryQueue } from '../../src/jobs/delivery-transport.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { createWebhookOutboxDrain } from '../../src/jobs/webhook-outbox.js';
import { deletePrefix, recordingLogger, redisClient, testPrefix } from '../jobs/helpers.js';
import { eventually, startReceiver, type Receiver } from './support.js';

const redis = redisClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
});

const HOST = 'lms.example.edu';
const GRACE_MS = 10_000;
const FINISHED = Date.parse('2030-01-01T10:00:00.000Z');

/** A clock the test moves by hand. */
function manualClock(ms: number): Clock & { set(ms: number): void } {
  let now = ms;
  return { now: () => new Date(now), set: (m) => void (now = m) };
}

/** A vm.create in tenant t1, finished (succeeded) at FINISHED: two events, operation.succeeded and vm.ready. */
function finishedVmCreate(laterMs = 0): { queued: OperationRecord; finish: (cur: OperationRecord) => OperationRecord } {
  const queued = newOperationRecord(
    {
      id: crypto.randomUUID(),
      kind: 'vm.create',
      tenant: 't1',
      target: { type: 'vm', id: 't1/vm-1', name: 'vm-1' },
      createdBy: 'olga',
      input: {},
      firstStep: 'create',
    },
    new Date(FINISHED - 60_000),
  );
  return { queued, finish: (cur) => succeed({ ...cur, status: 'running' }, { tenant: 't1', name: 'vm-1' }, new Date(FINISHED + laterMs)) };
}

interface Rig {
  readonly store: OperationStore;
  readonly deliveries: DeliveryStore;
  readonly dispatcher: WebhookDispatcher;
  readonly receiver: Receiver;
  readonly hook: NewWebhookRecord;
  readonly clock: ReturnType<typeof manualClock>;
  readonly drain: ReturnType<typeof createWebhookOutboxDrain>;
  /** How many delivery records `create` wrote (not deduped). */
  created(): number;
  /** Starts sending the queued deliveries. */
  deliver(): Promise<void>;
}

const queues: DeliveryQueue[] = [];
const receivers: Receiver[] = [];
afterEach(async () => {
  for (const q of queues.splice(0)) await q.close();
  for (const r of receivers.splice(0)) await r.close();
});

/**
 * A Redis operation store and delivery store, the dispatcher and a delivery queue whose worker
 * sends to a real receiver on 127.0.0.1; `store` is the store as a process sees it (tapped or not).
 */
async function rig(wrap: (store: OperationStore, dispatcher: WebhookDispatcher) => OperationStore = (s) => s): Promise<Rig> {
  const p = testPrefix();
  prefixes.push(p);
  const receiver = await startReceiver(() => 204);
  receivers.push(receiver);
  const hook: NewWebhookRecord = {
    id: crypto.randomUUID(),
    status: 'active',
    tenant: 't1',
    url: `https://${HOST}/in`,
    events: ['operation.succeeded', 'vm.ready'],
    createdAt: new Date().toISOString(),
    createdBy: 'olga',
    secret: newWebhookSecret(),
  };
  const repo = createMemoryWebhookRepository({ webhooks: [hook] });
  const inner = createRedisDeliveryStore({ redis, prefix: p });
  let created = 0;
  const deliveries: DeliveryStore = {
    ...inner,
    create: async (d) => {
      const fresh = await inner.create(d);
      if (fresh) created += 1;
      return fresh;
    },
  };
  const queue = createTransportDeliveryQueue({ transport: createInProcessTransport({ logger: recordingLogger() }), logger: recordingLogger() });
  queues.push(queue);
  const dispatcher = createWebhookDispatcher({ repo, store: deliveries, queue, clock: systemClock });
  const store = wrap(createRedisOperationStore({ redis, prefix: p, publishTo: p }), dispatcher);
  const clock = manualClock(FINISHED);
  const drain = createWebhookOutboxDrain({ operations: store, dispatcher, clock, logger: recordingLogger(), graceMs: GRACE_MS, intervalMs: 60_000 });
  const processor = createDeliveryProcessor({
    repo,
    store: deliveries,
    sender: createSimulatedWebhookNetwork([{ host: HOST, target: receiver.origin }]),
    resolver: createMemoryResolver({ [HOST]: ['93.184.216.34'] }),
    policy: { httpAllowedHosts: [] },
    clock: systemClock,
    logger: recordingLogger(),
  });
  return {
    store,
    deliveries,
    dispatcher,
    receiver,
    hook,
    clock,
    drain,
    created: () => created,
    deliver: () => queue.start(processor, { concurrency: 2 }),
  };
}

/** Waits until every delivery of `hook` succeeded, `n` of them; resolves to them. */
async function allSucceeded(r: Rig, n: number) {
  return eventually(
    async () => {
      const page = await r.deliveries.list(r.hook.id, { limit: 10 });
      return page.items.length === n && page.items.every((d) => d.status === 'succeeded') ? page.items : undefined;
    },
    10_000,
    `${n} succeeded deliveries`,
  );
}

describe('webhook outbox: events recorded with the terminal write, drained on the leader', () => {
  it('a process that dies right after the terminal write (the fast path never runs): the drain delivers each event exactly once, after the grace period', async () => {
    const r = await rig();
    const { queued, finish } = finishedVmCreate();
    await r.store.create(queued);
    await r.store.mutate(queued.id, finish);
    // ...the process is gone: nothing was published.

    r.clock.set(FINISHED + GRACE_MS - 1);
    await r.drain.tick();
    expect((await r.deliveries.list(r.hook.id, { limit: 10 })).items).toEqual([]);
    expect(await r.store.outbox.pending(new Date(FINISHED + 1), 10)).toEqual([queued.id]);

    r.clock.set(FINISHED + GRACE_MS + 1);
    await r.drain.tick();
    expect(await r.store.outbox.pending(new Date(FINISHED + 3_600_000), 10)).toEqual([]);
    await r.drain.tick();
    await r.deliver();
    const sent = await allSucceeded(r, 2);
    expect(sent.map((d) => d.eventType).sort()).toEqual(['operation.succeeded', 'vm.ready']);
    expect(sent.every((d) => d.attempts === 1)).toBe(true);
    expect(r.receiver.received.map((g) => g.headers['webhook-id']).sort()).toEqual([`${queued.id}.operation.succeeded`, `${queued.id}.vm.ready`]);
    expect(r.created()).toBe(2);
  });

  it('the fast path and the drain both publishing (the fast path marks done late): each event is recorded and delivered once', async () => {
    const heard: Operation[] = [];
    const r = await rig((s) => tapOperationStore(s, (op) => heard.push(op)));
    const { queued, finish } = finishedVmCreate();
    await r.store.create(queued);
    await r.store.mutate(queued.id, finish);
    expect(heard.map((o) => o.id)).toEqual([queued.id]);
    // The fast path records and enqueues the deliveries, then stalls before marking the entry done...
    expect(await r.dispatcher.publish(heard[0]!)).toBe(2);
    // ...long enough for the drain to take the entry and publish it again.
    r.clock.set(FINISHED + GRACE_MS + 1);
    await r.drain.tick();
    await r.store.outbox.done([queued.id]);
    await r.deliver();
    await allSucceeded(r, 2);
    expect(r.created()).toBe(2);
    expect(r.receiver.received).toHaveLength(2);
  });

  it('the fast path marks the entry done: the drain then publishes nothing', async () => {
    const r = await rig((s, dispatcher) => tapOperationStore(s, (op) => void dispatcher.publish(op).then(() => s.outbox.done([op.id]))));
    const { queued, finish } = finishedVmCreate();
    await r.store.create(queued);
    await r.store.mutate(queued.id, finish);
    await eventually(
      async () => r.created() === 2 && (await r.store.outbox.pending(new Date(FINISHED + 3_600_000), 10)).length === 0,
      5_000,
      'the entry published and marked done',
    );
    r.clock.set(FINISHED + GRACE_MS + 1);
    await r.drain.tick();
    expect(r.created()).toBe(2);
  });
});

describe('webhook outbox drain', () => {
  /** A finished operation in `store`, finished `ms` after FINISHED. */
  const finishedIn = async (store: OperationStore, ms = 0): Promise<OperationRecord> => {
    const { queued, finish } = finishedVmCreate(ms);
    await store.create(queued);
    return (await store.mutate(queued.id, finish))!.operation;
  };
  const clock = manualClock(FINISHED + GRACE_MS + 100);

  it('drops an entry whose operation is gone (expired in between) without publishing', async () => {
    const inner = createMemoryOperationStore();
    const op = await finishedIn(inner);
    const published: string[] = [];
    const drain = createWebhookOutboxDrain({
      operations: { get: async () => undefined, outbox: inner.outbox },
      dispatcher: { publish: async (o) => (published.push(o.id), 0) },
      clock,
      logger: recordingLogger(),
      graceMs: GRACE_MS,
      intervalMs: 60_000,
    });
    expect(await inner.outbox.pending(new Date(FINISHED + 1), 10)).toEqual([op.id]);
    await drain.tick();
    expect(published).toEqual([]);
    expect(await inner.outbox.pending(new Date(FINISHED + 1), 10)).toEqual([]);
  });

  it('a publish that fails leaves that entry (and the ones after it) for the next pass; those before are done', async () => {
    const store = createMemoryOperationStore();
    const first = await finishedIn(store, 0);
    const second = await finishedIn(store, 1);
    const third = await finishedIn(store, 2);
    const published: string[] = [];
    let failing = true;
    const logger = recordingLogger();
    const drain = createWebhookOutboxDrain({
      operations: store,
      dispatcher: {
        publish: async (o) => {
          if (o.id === second.id && failing) throw new UpstreamUnavailableError('REDIS_UNAVAILABLE', 'webhook queue down');
          published.push(o.id);
          return 1;
        },
      },
      clock,
      logger,
      graceMs: GRACE_MS,
      intervalMs: 60_000,
      batch: 1,
    });
    await drain.tick();
    expect(published).toEqual([first.id]);
    expect(await store.outbox.pending(new Date(FINISHED + 10), 10)).toEqual([second.id, third.id]);
    expect(logger.entries.map((e) => [e.level, e.msg])).toContainEqual(['warn', 'webhook outbox pass failed; retrying next interval']);
    failing = false;
    await drain.tick();
    expect(published).toEqual([first.id, second.id, third.id]);
    expect(await store.outbox.pending(new Date(FINISHED + 10), 10)).toEqual([]);
  });
});
