import type { JsonObject, JsonValue, Operation } from '../operations/operation.js';
import { isErrorCode, problemTypeOf, statusOfCode } from '../shared/error-codes.js';
import { LAB_TEMPLATE_PUBLISH_KIND } from '../labs/lab-template.js';
import { VM_SNAPSHOT_KIND } from '../vms/snapshot.js';
import type { DeliveredEventType, Webhook, WebhookEventType } from './webhook.js';

/**
 * Something that happened in a tenant, as webhooks deliver it. `id` is deterministic
 * (`${operationId}.${type}` for an operation's events, `${tenant}.${vm}.${runId}.idle-warning.${warnedAt}`
 * and the like for the idle detector's), so the same thing is the same event however often it is observed.
 */
export interface WebhookEvent {
  readonly id: string;
  readonly type: DeliveredEventType;
  readonly tenant: string;
  /** ISO 8601: when the operation finished (or the warning was given). */
  readonly occurredAt: string;
  readonly data: JsonObject;
}

type Json = { [key: string]: JsonValue };

function put(out: Json, key: string, value: JsonValue | undefined): void {
  if (value !== undefined) out[key] = value;
}

/** The operation as clients see it (only the `Operation` fields, whatever object is passed). */
export function operationData(op: Operation): JsonObject {
  const out: Json = {
    id: op.id,
    kind: op.kind,
    target: { type: op.target.type, id: op.target.id, ...(op.target.name === undefined ? {} : { name: op.target.name }) },
    status: op.status,
    progress: { percent: op.progress.percent, ...(op.progress.step === undefined ? {} : { step: op.progress.step }) },
    attempts: op.attempts,
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
    createdBy: op.createdBy,
    cancelRequested: op.cancelRequested,
  };
  put(out, 'tenant', op.tenant);
  put(out, 'startedAt', op.startedAt);
  put(out, 'finishedAt', op.finishedAt);
  put(out, 'result', op.result);
  if (op.error !== undefined) {
    // The problem as GET /v1/operations/{id} shows it (`operationDto`): a code outside the catalogue
    // (an older version's record) is 422.
    const { code } = op.error;
    const e: Json = {
      type: problemTypeOf(code),
      title: op.error.title,
      status: op.error.status ?? (isErrorCode(code) ? statusOfCode(code) : 422),
      code,
    };
    put(e, 'detail', op.error.detail);
    out['error'] = e;
  }
  put(out, 'ownerId', op.ownerId);
  put(out, 'parentId', op.parentId);
  return out;
}

/**
 * The webhook events of an operation update (pure). Only terminal updates of operations with a
 * tenant produce any:
 * - `operation.succeeded` / `operation.failed`: a top-level operation (no `parentId`: what a
 *   client started) succeeded / failed; data: the operation;
 * - `vm.ready`: `vm.create` succeeded without `result.identityPending === true`, or `vm.identity`
 *   succeeded; data: `{ tenant, vm, lab?, ownerId?, operationId }`;
 * - `vm.snapshot-ready`: `vm.snapshot` succeeded (KubeVirt says the snapshot is ready to use); data:
 *   `{ tenant, vm, snapshot, online?, indications?, ownerId?, operationId }`;
 * - `lab.ready`: `lab.sync` succeeded with `result.ready === true`; data: `{ tenant, lab, summary, operationId }`;
 * - `lab.roster-synced`: `lab.sync` succeeded with `result.reason === 'roster'`; data:
 *   `{ tenant, lab, diff, summary, failed, operationId }`;
 * - `lab.template-published`: `lab.template-publish` succeeded (the lab's template image is the
 *   published version); data: `{ tenant, lab, vm, image, version?, operationId }`.
 * A canceled operation produces nothing.
 */
export function webhookEventsOf(op: Operation): WebhookEvent[] {
  const tenant = op.tenant;
  if (tenant === undefined || (op.status !== 'succeeded' && op.status !== 'failed')) return [];
  const occurredAt = op.finishedAt ?? op.updatedAt;
  const event = (type: WebhookEventType, data: JsonObject): WebhookEvent => ({ id: `${op.id}.${type}`, type, tenant, occurredAt, data });
  const events: WebhookEvent[] = [];
  if (op.parentId === undefined) {
    events.push(event(op.status === 'succeeded' ? 'operation.succeeded' : 'operation.failed', operationData(op)));
  }
  if (op.status !== 'succeeded') return events;
  const result: JsonObject = op.result ?? {};
  const vmReady = (op.kind === 'vm.create' && result['identityPending'] !== true) || op.kind === 'vm.identity';
  if (vmReady) {
    const data: Json = { tenant };
    put(data, 'vm', result['name']);
    put(data, 'lab', result['lab']);
    put(data, 'ownerId', op.ownerId);
    data['operationId'] = op.id;
    events.push(event('vm.ready', data));
  }
  if (op.kind === VM_SNAPSHOT_KIND) {
    const data: Json = { tenant };
    put(data, 'vm', result['name']);
    put(data, 'snapshot', result['snapshot']);
    put(data, 'online', result['online']);
    put(data, 'indications', result['indications']);
    put(data, 'ownerId', op.ownerId);
    data['operationId'] = op.id;
    events.push(event('vm.snapshot-ready', data));
  }
  if (op.kind === LAB_TEMPLATE_PUBLISH_KIND) {
    const data: Json = { tenant };
    put(data, 'lab', result['lab']);
    put(data, 'vm', result['vm']);
    put(data, 'image', result['image']);
    put(data, 'version', result['version']);
    data['operationId'] = op.id;
    events.push(event('lab.template-published', data));
  }
  if (op.kind === 'lab.sync') {
    if (result['ready'] === true) {
      const data: Json = { tenant };
      put(data, 'lab', result['lab']);
      put(data, 'summary', result['summary']);
      data['operationId'] = op.id;
      events.push(event('lab.ready', data));
    }
    if (result['reason'] === 'roster') {
      const data: Json = { tenant };
      put(data, 'lab', result['lab']);
      put(data, 'diff', result['diff']);
      put(data, 'summary', result['summary']);
      put(data, 'failed', result['failed']);
      data['operationId'] = op.id;
      events.push(event('lab.roster-synced', data));
    }
  }
  return events;
}

/**
 * `webhook.ping`, sent to one webhook on request (whatever it subscribed to, even while disabled);
 * data: `{ tenant, webhookId }`. `id` is unique per ping (`ping.<uuid>`).
 */
export function pingEvent(webhook: Pick<Webhook, 'id' | 'tenant'>, id: string, at: Date): WebhookEvent {
  return {
    id: `ping.${id}`,
    type: 'webhook.ping',
    tenant: webhook.tenant,
    occurredAt: at.toISOString(),
    data: { tenant: webhook.tenant, webhookId: webhook.id },
  };
}

/**
 * `webhook.disabled`, sent to the tenant's other webhooks subscribed to it when a webhook is disabled
 * because its receiver kept failing; data: `{ tenant, webhookId, description?, failingSince, disabledAt,
 * reason }` (never its URL, which may carry a token, nor its secret).
 */
export function webhookDisabledEvent(w: Webhook): WebhookEvent {
  const disabledAt = w.disabledAt ?? '';
  const data: Json = { tenant: w.tenant, webhookId: w.id };
  put(data, 'description', w.description);
  put(data, 'failingSince', w.failingSince);
  data['disabledAt'] = disabledAt;
  data['reason'] = w.disabledReason ?? 'receiver-failing';
  return { id: `${w.id}.webhook.disabled.${disabledAt}`, type: 'webhook.disabled', tenant: w.tenant, occurredAt: disabledAt, data };
}

/** The body of a delivery: `{ id, type, timestamp, tenant, data }` as JSON text (signed as is). */
export function webhookPayload(event: WebhookEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, timestamp: event.occurredAt, tenant: event.tenant, data: event.data });
}
