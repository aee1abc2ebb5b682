import { describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../src/api/openapi-spec.js';
import { webhookTypeDefs } from '../../src/api/graphql/webhooks.js';
import { pingEvent, webhookDisabledEvent, webhookEventsOf, webhookPayload, type WebhookEvent } from '../../src/domain/webhooks/events.js';
import { DELIVERED_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type DeliveredEventType } from '../../src/domain/webhooks/webhook.js';
import { loadWebhookEventSchemas } from '../support/webhook-event-schemas.js';
import { anOperation } from './support.js';

/**
 * The event payloads in the contract (`webhooks:` of the OpenAPI document) against the code: every
 * event type the code sends has a schema there, and what the producers build validates against it.
 * Deliveries received in the component tests are checked against the same schemas (`verified` in
 * ./support.ts): operation.*, vm.ready (e2e.test.ts), lab.* (test/labs/lab-e2e.test.ts), vm.idle-warning,
 * vm.quota-warning, vm.auto-shutdown (test/usage/auto-shutdown-e2e.test.ts), webhook.ping (management.test.ts).
 */
const schemas = loadWebhookEventSchemas();
const doc = loadOpenApi();
const enumOf = (name: string): string[] => ((doc.components?.['schemas'] as Record<string, { enum?: string[] }>)[name]?.enum ?? []).slice();
const bodyOf = (e: WebhookEvent): unknown => JSON.parse(webhookPayload(e));

describe('every event type has its payload schema in the contract', () => {
  it('the contract has a `webhooks:` entry with a JSON body schema for each type the code sends, and no other', () => {
    expect([...schemas.types].sort()).toEqual([...DELIVERED_EVENT_TYPES].sort());
  });

  it('the contract enums are the code lists (subscribable types; types a delivery may carry), as is the GraphQL enum', () => {
    expect(enumOf('WebhookEventType')).toEqual([...WEBHOOK_EVENT_TYPES]);
    expect(enumOf('WebhookDeliveredEventType').sort()).toEqual([...DELIVERED_EVENT_TYPES].sort());
    const graphql = /enum WebhookEvent \{([^}]*)\}/.exec(webhookTypeDefs)?.[1] ?? '';
    const values = graphql
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^[a-z_]+$/.test(l));
    expect(values.sort()).toEqual(DELIVERED_EVENT_TYPES.map((t) => t.replace(/[.-]/g, '_')).sort());
  });

  it('a schema refuses what its event never carries (a missing field, a foreign field, the wrong type)', () => {
    const [ready] = webhookEventsOf(anOperation()).filter((e) => e.type === 'vm.ready');
    const body = bodyOf(ready as WebhookEvent) as { data: Record<string, unknown> };
    expect(schemas.errors('vm.ready', body)).toEqual([]);
    const { operationId: _o, ...withoutOperation } = body.data;
    expect(schemas.errors('vm.ready', { ...body, data: withoutOperation })).not.toEqual([]);
    expect(schemas.errors('vm.ready', { ...body, data: { ...body.data, secret: 'x' } })).not.toEqual([]);
    expect(schemas.errors('vm.ready', { ...body, type: 'lab.ready' })).not.toEqual([]);
    expect(() => schemas.errors('vm.exploded', body)).toThrow(/no payload schema/);
  });
});

describe('what the producers build validates against the contract', () => {
  const at = '2026-03-02T09:00:00.000Z';
  const summary = { total: 3, pending: 0, provisioning: 0, ready: 2, failed: 1, dropped: 1 };
  // Results as the job kinds write them (src/jobs/kinds/*.ts), through the real `webhookEventsOf`.
  const fromOperations: WebhookEvent[] = [
    ...webhookEventsOf(anOperation({ result: { tenant: 't1', name: 'vm-1', id: 'abc', state: 'Running', lab: 'cs101' } })),
    ...webhookEventsOf(
      anOperation({
        kind: 'vm.create',
        status: 'failed',
        result: undefined,
        error: { code: 'QUOTA_EXCEEDED', title: 'Quota exceeded', detail: 'needs 2 CPUs' },
      } as never),
    ),
    ...webhookEventsOf(
      anOperation({
        kind: 'vm.snapshot',
        result: {
          tenant: 't1',
          name: 'vm-1',
          snapshot: 'before',
          phase: 'Succeeded',
          online: true,
          indications: ['Online', 'GuestAgent'],
          sizeGi: 10,
        },
      }),
    ),
    ...webhookEventsOf(
      anOperation({
        kind: 'lab.sync',
        ownerId: undefined,
        result: {
          tenant: 't1',
          lab: 'cs101',
          reason: 'roster',
          diff: { added: ['s3'], removed: ['s9'], updated: [], unchanged: 2 },
          summary,
          ready: false,
          failed: [{ student: 's2', code: 'QUOTA_EXCEEDED', reason: 'needs 2 CPUs' }],
        },
      }),
    ),
    ...webhookEventsOf(
      anOperation({
        kind: 'lab.sync',
        ownerId: undefined,
        result: { tenant: 't1', lab: 'cs101', reason: 'create', summary: { ...summary, ready: 3, failed: 0 }, ready: true, failed: [] },
      }),
    ),
    ...webhookEventsOf(
      anOperation({
        kind: 'lab.template-publish',
        ownerId: undefined,
        result: {
          tenant: 't1',
          lab: 'cs101',
          vm: 'cs101-template',
          image: { scope: 'tenant', name: 'cs101-template' },
          version: 2,
          publishOperationId: 'p1',
        },
      }),
    ),
  ];
  // The idle detector's data (src/jobs/idle-detector-loop.ts `eventData`); it fires for real in test/usage/auto-shutdown-e2e.test.ts.
  const notice = { tenant: 't1', vm: 'vm-1', lab: 'cs101', ownerId: 'stud-1', warnedAt: at, stopAt: '2026-03-02T09:15:00.000Z' };
  const idle: WebhookEvent[] = [
    { id: 'i1', type: 'vm.idle-warning', tenant: 't1', occurredAt: at, data: { ...notice, reason: 'AutoShutdown:Idle' } },
    {
      id: 'q1',
      type: 'vm.quota-warning',
      tenant: 't1',
      occurredAt: at,
      data: { ...notice, reason: 'UsageQuota:Exhausted', usedHours: 9.5, leftHours: 0.5 },
    },
    {
      id: 'a1',
      type: 'vm.auto-shutdown',
      tenant: 't1',
      occurredAt: at,
      data: { ...notice, reason: 'AutoShutdown:Disconnect', operationId: 'op-stop' },
    },
  ];
  const hook = {
    id: '3f1d2c4b-5a69-4788-9abc-def012345678',
    tenant: 't1',
    url: 'https://lms.example.edu/hooks?token=secret-ish',
    events: ['vm.ready' as const],
    description: 'old LMS',
    createdAt: at,
    createdBy: 'olga',
    version: '7',
    status: 'disabled' as const,
    disabledAt: at,
    disabledReason: 'receiver-failing' as const,
    failingSince: '2026-02-27T09:00:00.000Z',
  };
  const direct: WebhookEvent[] = [pingEvent(hook, '0b0c7f4e-1111-4222-8333-444455556666', new Date(at)), webhookDisabledEvent(hook)];
  const all = [...fromOperations, ...idle, ...direct];

  it('covers every event type the code sends', () => {
    expect([...new Set(all.map((e) => e.type))].sort()).toEqual([...DELIVERED_EVENT_TYPES].sort());
  });

  it.each(DELIVERED_EVENT_TYPES.map((t) => [t]))('%s validates against its schema', (type: DeliveredEventType) => {
    const events = all.filter((e) => e.type === type);
    expect(events.length).toBeGreaterThan(0);
    for (const e of events) expect(schemas.errors(type, bodyOf(e)), JSON.stringify(bodyOf(e))).toEqual([]);
  });

  it('webhook.disabled never carries the URL of the webhook it names', () => {
    expect(webhookPayload(webhookDisabledEvent(hook))).not.toContain('lms.example.edu');
  });
});
