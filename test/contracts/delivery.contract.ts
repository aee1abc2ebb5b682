import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryWebhookRepository, type MemoryWebhookRepository } from '../../src/adapters/memory/webhook-repository.js';
import { createMemoryResolver, type MemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import { createSimulatedWebhookNetwork } from '../../src/adapters/sim/sim-webhook-network.js';
import { systemClock } from '../../src/domain/shared/ids.js';
import {
  deliveryIdOf,
  type DeliveryHandler,
  type DeliveryQueue,
  type DeliveryStore,
  type DeliveryVerdict,
} from '../../src/domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../../src/domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher } from '../../src/domain/webhooks/dispatcher.js';
import { newWebhookSecret } from '../../src/domain/webhooks/signing.js';
import type { NewWebhookRecord, WebhookEventType } from '../../src/domain/webhooks/webhook.js';
import { anOperation, eventually, startReceiver, verified, type Receiver } from '../webhooks/support.js';

/** What one backend provides: a delivery store and queue (fresh, isolated), and how to drop them. */
export interface DeliveryBackend {
  readonly store: DeliveryStore;
  readonly queue: DeliveryQueue;
  close(): Promise<void>;
}

const HOST = 'hooks.example.edu';
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

interface Rig {
  readonly receiver: Receiver;
  readonly repo: MemoryWebhookRepository;
  readonly resolver: MemoryResolver;
  readonly backend: DeliveryBackend;
  readonly hook: NewWebhookRecord;
  readonly dispatcher: ReturnType<typeof createWebhookDispatcher>;
  /** Verdicts the processor gave, by delivery id. */
  readonly handled: Map<string, DeliveryVerdict[]>;
  /** The processor itself (not through the queue). */
  readonly processor: DeliveryHandler;
  start(): Promise<void>;
}

/**
 * The delivery pipeline (dispatcher → queue → processor → receiver) against one queue/store
 * backend: every backend must behave the same. The receiver is a real HTTP server on 127.0.0.1,
 * reached through the simulated network after the guard vetted the URL's public address.
 */
export function deliveryContract(name: string, makeBackend: () => Promise<DeliveryBackend>): void {
  describe(`webhook delivery (${name})`, () => {
    const rigs: Rig[] = [];
    afterEach(async () => {
      for (const r of rigs.splice(0)) {
        await r.backend.close();
        await r.receiver.close();
      }
    });

    async function rig(answer: (n: number) => number, options: { schedule?: number[]; events?: WebhookEventType[] } = {}): Promise<Rig> {
      const receiver = await startReceiver(answer);
      const backend = await makeBackend();
      const hook: NewWebhookRecord = {
        id: crypto.randomUUID(),
        status: 'active',
        tenant: 't1',
        url: `https://${HOST}/hooks/lms?course=cs101`,
        events: options.events ?? ['operation.succeeded', 'vm.ready'],
        createdAt: new Date().toISOString(),
        createdBy: 'olga',
        secret: newWebhookSecret(),
      };
      const repo = createMemoryWebhookRepository({ webhooks: [hook] });
      const resolver = createMemoryResolver({ [HOST]: ['93.184.216.34'] });
      const handled = new Map<string, DeliveryVerdict[]>();
      const processor = createDeliveryProcessor({
        repo,
        store: backend.store,
        sender: createSimulatedWebhookNetwork([{ host: HOST, target: receiver.origin }]),
        resolver,
        policy: { httpAllowedHosts: [] },
        clock: systemClock,
        logger: silent,
        schedule: options.schedule ?? [0, 20, 20],
        timeoutMs: 2_000,
      });
      const observed: DeliveryHandler = async (job, signal) => {
        const verdict = await processor(job, signal);
        handled.set(job.deliveryId, [...(handled.get(job.deliveryId) ?? []), verdict]);
        return verdict;
      };
      const dispatcher = createWebhookDispatcher({ repo, store: backend.store, queue: backend.queue, clock: systemClock });
      const r: Rig = {
        receiver,
        repo,
        resolver,
        backend,
        hook,
        dispatcher,
        handled,
        processor,
        start: () => backend.queue.start(observed, { concurrency: 2 }),
      };
      rigs.push(r);
      return r;
    }

    const finished = (r: Rig, id: string) => eventually(() => r.handled.get(id)?.some((v) => v.done), 15_000, `delivery ${id} to finish`);

    it('delivers each subscribed event once, signed (standardwebhooks verifies it), with the specified headers and body', async () => {
      const r = await rig(() => 204);
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      expect(await r.dispatcher.publish(op)).toBe(2);
      await eventually(() => r.receiver.received.length === 2, 10_000, 'two deliveries');
      const bodies = r.receiver.received.map((got) => {
        expect(got.method).toBe('POST');
        expect(got.path).toBe('/hooks/lms?course=cs101');
        expect(got.headers['host']).toBe(HOST);
        expect(got.headers['content-type']).toBe('application/json');
        expect(got.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
        expect(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(300);
        const body = verified(r.hook.secret, got);
        expect(got.headers['webhook-id']).toBe(body['id']);
        expect(Object.keys(body).sort()).toEqual(['data', 'id', 'tenant', 'timestamp', 'type']);
        return body;
      });
      expect(bodies.map((b) => b['type']).sort()).toEqual(['operation.succeeded', 'vm.ready']);
      expect(bodies.find((b) => b['type'] === 'vm.ready')).toEqual({
        id: `${op.id}.vm.ready`,
        type: 'vm.ready',
        timestamp: op.finishedAt,
        tenant: 't1',
        data: { tenant: 't1', vm: 'vm-1', ownerId: 'stud-1', operationId: op.id },
      });
      // A signature made with another secret does not verify.
      expect(() => verified(newWebhookSecret(), r.receiver.received[0]!)).toThrow();
      const id = deliveryIdOf(`${op.id}.vm.ready`, r.hook.id);
      await finished(r, id);
      expect(await r.backend.store.get(id)).toMatchObject({ status: 'succeeded', attempts: 1, responseStatus: 204, eventType: 'vm.ready' });
    });

    it('answers 500 twice then 200: retried with backoff, the record says succeeded after 3 attempts', async () => {
      const r = await rig((n) => (n <= 2 ? 500 : 200), { schedule: [0, 30, 30, 30], events: ['operation.succeeded'] });
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(3);
      const record = await r.backend.store.get(id);
      expect(record).toMatchObject({ status: 'succeeded', attempts: 3, responseStatus: 200 });
      expect(record).not.toHaveProperty('nextAttemptAt');
      // Every retry is the same message: same id, same body, each validly signed.
      expect(new Set(r.receiver.received.map((g) => g.headers['webhook-id'])).size).toBe(1);
      expect(new Set(r.receiver.received.map((g) => g.body)).size).toBe(1);
      for (const got of r.receiver.received) verified(r.hook.secret, got);
    });

    it('always 500: failed once the schedule is used up, after exactly one attempt per entry', async () => {
      const r = await rig(() => 500, { schedule: [0, 20, 20], events: ['operation.succeeded'] });
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(3);
      const record = await r.backend.store.get(id);
      expect(record).toMatchObject({ status: 'failed', attempts: 3, responseStatus: 500, lastError: 'the receiver answered 500' });
      expect(r.handled.get(id)?.slice(0, 2)).toEqual([
        { done: false, attempt: 1, retryInMs: 20 },
        { done: false, attempt: 2, retryInMs: 20 },
      ]);
    });

    it('while retrying, the record is retrying with the next attempt time and the last error; a late duplicate of the attempt made sends nothing and asks for the next attempt at its time', async () => {
      const r = await rig((n) => (n === 1 ? 503 : 204), { schedule: [0, 60_000], events: ['operation.succeeded'] });
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      const record = await eventually(async () => {
        const d = await r.backend.store.get(id);
        return d?.status === 'retrying' ? d : undefined;
      });
      expect(record).toMatchObject({ attempts: 1, responseStatus: 503, lastError: 'the receiver answered 503' });
      expect(Date.parse(record.nextAttemptAt ?? '') - Date.parse(record.lastAttemptAt ?? '')).toBe(60_000);
      const verdict = await r.processor({ deliveryId: id, attempt: 0 }, new AbortController().signal);
      expect(verdict).toMatchObject({ done: false, attempt: 1 });
      const retryInMs = verdict.done ? -1 : verdict.retryInMs;
      expect(retryInMs).toBeGreaterThan(0);
      expect(retryInMs).toBeLessThanOrEqual(Date.parse(record.nextAttemptAt ?? '') - Date.parse(record.lastAttemptAt ?? ''));
      expect(await r.processor({ deliveryId: id, attempt: 5 }, new AbortController().signal)).toEqual({ done: true });
      expect(r.receiver.received).toHaveLength(1);
      expect(await r.backend.store.get(id)).toEqual(record);
    });

    it('the same event enqueued twice (or published again after delivery) is delivered once', async () => {
      const r = await rig(() => 204, { events: ['operation.succeeded'] });
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      await r.dispatcher.publish(op);
      await r.start();
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      await r.dispatcher.publish(op);
      await eventually(() => (r.handled.get(id)?.length ?? 0) >= 1);
      // The late duplicate is either ignored by the queue or ends at once (the record is finished).
      // Real time: also on BullMQ; the wait is the window in which a wrong second delivery would arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(r.receiver.received).toHaveLength(1);
    });

    it('an event that is not an operation (an idle warning) goes to the subscribed webhooks of its tenant only, once however often it is published', async () => {
      const r = await rig(() => 204, { events: ['vm.idle-warning'] });
      // Another tenant's webhook subscribed to the same type, and one of this tenant that is not subscribed.
      await r.repo.create({ ...r.hook, id: crypto.randomUUID(), tenant: 't2' });
      await r.repo.create({ ...r.hook, id: crypto.randomUUID(), events: ['vm.quota-warning'] });
      const event = {
        id: `t1.vm-1.${crypto.randomUUID()}.idle-warning.2027-01-11T09:20:00.000Z`,
        type: 'vm.idle-warning' as const,
        tenant: 't1',
        occurredAt: '2027-01-11T09:20:00.000Z',
        data: {
          tenant: 't1',
          vm: 'vm-1',
          ownerId: 'stud-1',
          reason: 'AutoShutdown:Disconnect',
          warnedAt: '2027-01-11T09:20:00.000Z',
          stopAt: '2027-01-11T09:25:00.000Z',
        },
      };
      expect(await r.dispatcher.publishEvent(event)).toBe(1);
      expect(await r.dispatcher.publishEvent(event)).toBe(1);
      await r.start();
      const id = deliveryIdOf(event.id, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(1);
      expect(verified(r.hook.secret, r.receiver.received[0]!)).toEqual({
        id: event.id,
        type: 'vm.idle-warning',
        timestamp: event.occurredAt,
        tenant: 't1',
        data: event.data,
      });
      expect(await r.dispatcher.publishEvent({ ...event, tenant: 't3', id: `${event.id}-t3` })).toBe(0);
    });

    it('a webhook deleted before its delivery runs: the delivery is dropped, nothing is sent', async () => {
      const r = await rig(() => 204, { events: ['operation.succeeded'] });
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      await r.repo.delete('t1', r.hook.id);
      await r.start();
      await finished(r, deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id));
      expect(r.receiver.received).toHaveLength(0);
    });

    it('410 Gone stops the retries of that delivery (the webhook stays registered)', async () => {
      const r = await rig(() => 410, { schedule: [0, 20, 20], events: ['operation.succeeded'] });
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(1);
      expect(await r.backend.store.get(id)).toMatchObject({ status: 'failed', attempts: 1, responseStatus: 410 });
      expect(await r.repo.get('t1', r.hook.id)).toBeDefined();
    });

    it('a redirect is not followed: 302 is a failed attempt', async () => {
      const r = await rig(() => 302, { schedule: [0], events: ['operation.succeeded'] });
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(1);
      expect(await r.backend.store.get(id)).toMatchObject({ status: 'failed', attempts: 1, responseStatus: 302 });
    });

    it('vets the URL again at delivery: a host that now resolves to a private address fails for good and nothing is sent', async () => {
      const r = await rig(() => 204, { schedule: [0, 20, 20], events: ['operation.succeeded'] });
      r.resolver.set(HOST, ['10.1.2.3']);
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      expect(r.receiver.received).toHaveLength(0);
      const record = await r.backend.store.get(id);
      expect(record).toMatchObject({ status: 'failed', attempts: 1 });
      expect(record?.lastError).toMatch(/guard refused.*10\.1\.2\.3.*private/);
      expect(r.handled.get(id)).toEqual([{ done: true }]);
    });

    it('a receiver that does not answer is retried; the records never hold the secret', async () => {
      const r = await rig(() => 204, { schedule: [0, 20], events: ['operation.succeeded'] });
      await r.receiver.close();
      await r.start();
      const op = anOperation({ id: crypto.randomUUID() });
      await r.dispatcher.publish(op);
      const id = deliveryIdOf(`${op.id}.operation.succeeded`, r.hook.id);
      await finished(r, id);
      const record = await r.backend.store.get(id);
      expect(record).toMatchObject({ status: 'failed', attempts: 2, lastError: 'the connection was refused' });
      expect(record).not.toHaveProperty('responseStatus');
      expect(JSON.stringify(record)).not.toContain(r.hook.secret.slice(6));
      const page = await r.backend.store.list(r.hook.id, { limit: 10 });
      expect(page.items.map((d) => d.id)).toEqual([id]);
    });
  });
}
