import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryAuditLog } from '../../src/adapters/memory/audit-log.js';
import { createMemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import { createMemoryDeliveryStore } from '../../src/adapters/memory/webhook-deliveries.js';
import { createMemoryWebhookRepository } from '../../src/adapters/memory/webhook-repository.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import { isDomainError } from '../../src/domain/shared/errors.js';
import type { DeliveryJob, OutboundDelivery } from '../../src/domain/webhooks/delivery.js';
import { createDeliveryProcessor } from '../../src/domain/webhooks/delivery-processor.js';
import { createWebhookDispatcher } from '../../src/domain/webhooks/dispatcher.js';
import { webhookPayload, type WebhookEvent } from '../../src/domain/webhooks/events.js';
import { createWebhookService } from '../../src/domain/webhooks/webhook-service.js';
import { recordingLogger } from '../kubernetes/support/kube-fixture.js';
import { loadWebhookEventSchemas } from '../support/webhook-event-schemas.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T09:00:00Z');
const owner = makePrincipal({ id: 'olga', tenantRoles: [['t1', 'owner']] });

afterEach(() => {
  vi.useRealTimers();
});

/** Everything in memory, time moved by the test; the receivers answer per host (`answers`). */
function rig(options: { disableAfterMs?: number } = {}) {
  let now = T0;
  const clock = { now: () => new Date(now) };
  const repo = createMemoryWebhookRepository();
  const store = createMemoryDeliveryStore({ clock });
  const jobs: DeliveryJob[] = [];
  const dispatcher = createWebhookDispatcher({ repo, store, queue: { enqueue: async (j) => void jobs.push(j) }, clock });
  const resolver = createMemoryResolver({ 'ok.example.edu': ['93.184.216.34'], 'down.example.edu': ['93.184.216.35'] });
  const policy = { httpAllowedHosts: [] };
  let n = 0;
  const service = createWebhookService({
    repo,
    tenants: { get: async (id) => ({ id }) as never },
    deliveries: store,
    dispatcher,
    resolver,
    policy,
    ids: { next: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}` },
    clock,
  });
  const answers: Record<string, number> = { 'ok.example.edu': 204, 'down.example.edu': 503 };
  const sent: OutboundDelivery[] = [];
  const auditLog = createMemoryAuditLog();
  const logger = recordingLogger();
  const handler = createDeliveryProcessor({
    repo,
    store,
    sender: {
      send: async (d) => {
        sent.push(d);
        return { status: answers[d.url.hostname] ?? 500 };
      },
    },
    resolver,
    policy,
    clock,
    logger,
    auditLog,
    publishEvent: (e) => dispatcher.publishEvent(e),
    ...(options.disableAfterMs === undefined ? {} : { disableAfterMs: options.disableAfterMs }),
  });
  /** Runs every queued job (and those they queue) once. */
  async function drain(): Promise<void> {
    while (jobs.length > 0) await handler(jobs.shift() as DeliveryJob, new AbortController().signal);
  }
  return {
    clock,
    advance: (ms: number) => void (now += ms),
    repo,
    store,
    jobs,
    dispatcher,
    service,
    sent,
    auditLog,
    logger,
    drain,
  };
}

type Rig = ReturnType<typeof rig>;

/** Verifies a sent delivery with the `standardwebhooks` package at the rig's time (its timestamp check reads Date.now()). */
function verifies(r: Rig, secret: string, d: OutboundDelivery): boolean {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(r.clock.now());
  try {
    new StandardWebhook(secret).verify(d.body, { ...d.headers });
    return true;
  } catch {
    return false;
  } finally {
    vi.useRealTimers();
  }
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isDomainError(err) ? err.code : String(err);
  }
  return undefined;
}

const anEvent = (id: string, at: Date): WebhookEvent => ({
  id,
  type: 'vm.ready',
  tenant: 't1',
  occurredAt: at.toISOString(),
  data: { tenant: 't1', vm: 'vm-1', operationId: id },
});

describe('secret rotation with an overlap', () => {
  it('during the overlap each delivery is signed with the new and the old secret (both verify with standardwebhooks); after it only the new one does', async () => {
    const r = rig();
    const created = await r.service.create(owner, 't1', { url: 'https://ok.example.edu/hooks', events: ['vm.ready'] });
    const oldSecret = created.secret;
    const rotated = await r.service.rotateSecret(owner, 't1', created.webhook.id);
    const newSecret = rotated.secret;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(oldSecret);
    expect(rotated.webhook).toMatchObject({
      secretRotatedAt: r.clock.now().toISOString(),
      previousSecretExpiresAt: new Date(T0 + 24 * HOUR).toISOString(),
    });

    await r.service.ping(owner, 't1', created.webhook.id);
    await r.drain();
    const during = r.sent.at(-1) as OutboundDelivery;
    expect(during.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(verifies(r, newSecret, during)).toBe(true);
    expect(verifies(r, oldSecret, during)).toBe(true);

    r.advance(24 * HOUR - 1_000);
    await r.dispatcher.publishEvent(anEvent('ev-late-overlap', r.clock.now()));
    await r.drain();
    const last = r.sent.at(-1) as OutboundDelivery;
    expect(verifies(r, oldSecret, last)).toBe(true);

    r.advance(1_000);
    await r.dispatcher.publishEvent(anEvent('ev-after-overlap', r.clock.now()));
    await r.drain();
    const after = r.sent.at(-1) as OutboundDelivery;
    expect(after.headers['webhook-signature']?.split(' ')).toHaveLength(1);
    expect(verifies(r, newSecret, after)).toBe(true);
    expect(verifies(r, oldSecret, after)).toBe(false);
  });

  it('overlapHours 0 ends the old secret at once; a second rotation keeps only the secret it replaces; out of range is VALIDATION_FAILED', async () => {
    const r = rig();
    const created = await r.service.create(owner, 't1', { url: 'https://ok.example.edu/hooks', events: ['vm.ready'] });
    const first = await r.service.rotateSecret(owner, 't1', created.webhook.id);
    const second = await r.service.rotateSecret(owner, 't1', created.webhook.id);
    await r.service.ping(owner, 't1', created.webhook.id);
    await r.drain();
    const d = r.sent.at(-1) as OutboundDelivery;
    expect([verifies(r, second.secret, d), verifies(r, first.secret, d), verifies(r, created.secret, d)]).toEqual([true, true, false]);

    const leaked = await r.service.rotateSecret(owner, 't1', created.webhook.id, { overlapHours: 0 });
    expect(leaked.webhook.previousSecretExpiresAt).toBeUndefined();
    await r.service.ping(owner, 't1', created.webhook.id);
    await r.drain();
    const now = r.sent.at(-1) as OutboundDelivery;
    expect([verifies(r, leaked.secret, now), verifies(r, second.secret, now)]).toEqual([true, false]);

    for (const overlapHours of [-1, 169, Number.NaN]) {
      expect(await code(r.service.rotateSecret(owner, 't1', created.webhook.id, { overlapHours }))).toBe('VALIDATION_FAILED');
    }
  });

  it('no secret (old or new) in job data, delivery records, logs, webhook reads or the rotation answer but its own', async () => {
    const r = rig();
    const created = await r.service.create(owner, 't1', { url: 'https://down.example.edu/hooks', events: ['vm.ready'] });
    const rotated = await r.service.rotateSecret(owner, 't1', created.webhook.id);
    await r.service.ping(owner, 't1', created.webhook.id);
    const jobs = JSON.stringify(r.jobs);
    await r.drain();
    const seen = [
      jobs,
      JSON.stringify(await r.store.list(created.webhook.id, { limit: 100 })),
      JSON.stringify(r.logger.lines),
      JSON.stringify(await r.service.get(owner, 't1', created.webhook.id)),
      JSON.stringify(await r.service.list(owner, 't1', { limit: 100 })),
      JSON.stringify(rotated.webhook),
    ].join('\n');
    for (const s of [created.secret, rotated.secret]) expect(seen).not.toContain(s.slice('whsec_'.length));
  });
});

describe('a receiver failing continuously is disabled', () => {
  async function twoHooks(r: Rig) {
    const failing = await r.service.create(owner, 't1', { url: 'https://down.example.edu/hooks', events: ['vm.ready'], description: 'old LMS' });
    const other = await r.service.create(owner, 't1', { url: 'https://ok.example.edu/hooks', events: ['vm.ready', 'webhook.disabled'] });
    return { failing: failing.webhook.id, other: other.webhook.id };
  }

  it('after failing for the configured time: disabled (visible), audited once, webhook.disabled to the other webhooks (valid against the contract)', async () => {
    const r = rig({ disableAfterMs: 72 * HOUR });
    const { failing, other } = await twoHooks(r);
    await r.dispatcher.publishEvent(anEvent('ev-1', r.clock.now()));
    await r.drain();
    expect(await r.service.get(owner, 't1', failing)).toMatchObject({ status: 'active', failingSince: new Date(T0).toISOString() });
    expect((await r.service.get(owner, 't1', other)).failingSince).toBeUndefined();

    r.advance(72 * HOUR - 1);
    await r.dispatcher.publishEvent(anEvent('ev-2', r.clock.now()));
    await r.drain();
    expect((await r.service.get(owner, 't1', failing)).status).toBe('active');

    r.advance(1);
    const sentBefore = r.sent.length;
    await r.dispatcher.publishEvent(anEvent('ev-3', r.clock.now()));
    await r.drain();
    const disabledAt = r.clock.now().toISOString();
    expect(await r.service.get(owner, 't1', failing)).toMatchObject({
      status: 'disabled',
      disabledAt,
      disabledReason: 'receiver-failing',
      failingSince: new Date(T0).toISOString(),
    });
    const audit = (await r.auditLog.list({ tenant: 't1' }, { limit: 10 })).items;
    expect(audit).toEqual([
      expect.objectContaining({
        action: 'webhook.auto-disable',
        actor: expect.objectContaining({ kind: 'service' }),
        target: { type: 'webhook', id: failing },
        reason: 'Webhook:ReceiverFailing',
      }),
    ]);
    // ev-3 to both webhooks, then webhook.disabled to the other one only.
    const announced = r.sent.slice(sentBefore).filter((d) => d.url.hostname === 'ok.example.edu' && JSON.parse(d.body).type === 'webhook.disabled');
    expect(announced).toHaveLength(1);
    const body = JSON.parse((announced[0] as OutboundDelivery).body);
    expect(body).toMatchObject({
      type: 'webhook.disabled',
      tenant: 't1',
      data: {
        tenant: 't1',
        webhookId: failing,
        description: 'old LMS',
        failingSince: new Date(T0).toISOString(),
        disabledAt,
        reason: 'receiver-failing',
      },
    });
    expect(JSON.stringify(body)).not.toContain('down.example.edu');
    expect(loadWebhookEventSchemas().errors('webhook.disabled', body)).toEqual([]);

    // Disabled: nothing more is queued for it, a job still queued sends nothing, the audit stays one event.
    const toFailing = () => r.sent.filter((d) => d.url.hostname === 'down.example.edu').length;
    const before = toFailing();
    r.advance(HOUR);
    expect(await r.dispatcher.publishEvent(anEvent('ev-4', r.clock.now()))).toBe(1);
    await r.dispatcher.enqueue(anEvent('ev-5', r.clock.now()), { id: failing, tenant: 't1' });
    await r.drain();
    expect(toFailing()).toBe(before);
    const dropped = (await r.store.list(failing, { limit: 100 })).items.find((d) => d.eventId === 'ev-5');
    expect(dropped).toMatchObject({ status: 'failed', attempts: 0, lastError: expect.stringMatching(/disabled/) });
    expect((await r.auditLog.list({ tenant: 't1' }, { limit: 10 })).items).toHaveLength(1);

    // A ping still goes (to check the receiver); PATCH status active re-enables and starts the failure record again.
    await r.service.ping(owner, 't1', failing);
    await r.drain();
    expect(toFailing()).toBe(before + 1);
    const enabled = await r.service.update(owner, 't1', failing, { status: 'active' });
    expect(enabled.status).toBe('active');
    expect(enabled).not.toHaveProperty('disabledAt');
    expect(enabled).not.toHaveProperty('failingSince');
  });

  it('a success in between starts the clock again; the default is 72 hours', async () => {
    const r = rig();
    const { failing } = await twoHooks(r);
    await r.dispatcher.publishEvent(anEvent('ev-1', r.clock.now()));
    await r.drain();
    r.advance(48 * HOUR);
    const hook = await r.repo.getWithSecret('t1', failing);
    // The receiver answers again for a moment.
    await r.service.update(owner, 't1', failing, { url: 'https://ok.example.edu/hooks' });
    await r.dispatcher.publishEvent(anEvent('ev-2', r.clock.now()));
    await r.drain();
    expect((await r.service.get(owner, 't1', failing)).failingSince).toBeUndefined();
    await r.service.update(owner, 't1', failing, { url: hook?.url ?? '' });
    r.advance(HOUR);
    await r.dispatcher.publishEvent(anEvent('ev-3', r.clock.now()));
    await r.drain();
    r.advance(71 * HOUR);
    await r.dispatcher.publishEvent(anEvent('ev-4', r.clock.now()));
    await r.drain();
    expect((await r.service.get(owner, 't1', failing)).status).toBe('active');
    r.advance(HOUR);
    await r.dispatcher.publishEvent(anEvent('ev-5', r.clock.now()));
    await r.drain();
    expect((await r.service.get(owner, 't1', failing)).status).toBe('disabled');
  });
});

describe('ping and redelivery in the domain', () => {
  it('a redelivery is a new delivery of the same event: same body, same webhook-id, redeliveryOf set', async () => {
    const r = rig();
    const created = await r.service.create(owner, 't1', { url: 'https://ok.example.edu/hooks', events: ['vm.ready'] });
    const event = anEvent('ev-r', r.clock.now());
    await r.dispatcher.publishEvent(event);
    await r.drain();
    const [original] = (await r.store.list(created.webhook.id, { limit: 10 })).items;
    expect(original?.status).toBe('succeeded');
    const again = await r.service.redeliver(owner, 't1', created.webhook.id, original?.id ?? '');
    expect(again).toMatchObject({ redeliveryOf: original?.id, eventId: 'ev-r', status: 'pending', attempts: 0 });
    expect(again.id).not.toBe(original?.id);
    await r.drain();
    const [first, second] = r.sent;
    expect(second?.body).toBe(first?.body);
    expect(second?.body).toBe(webhookPayload(event));
    expect(second?.headers['webhook-id']).toBe('ev-r');
    expect((await r.service.delivery(owner, 't1', created.webhook.id, again.id)).status).toBe('succeeded');
  });
});
