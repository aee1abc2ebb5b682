/**
 * Event types a webhook may subscribe to: those of operations (see `webhookEventsOf` for when each is
 * sent) and those of the idle detector (`vm.idle-warning`, `vm.quota-warning`: a running VM will be
 * stopped; `vm.auto-shutdown`: its stop was started; see `src/jobs/idle-detector-loop.ts`).
 */
export const WEBHOOK_EVENT_TYPES = [
  'operation.succeeded',
  'operation.failed',
  'vm.ready',
  'vm.snapshot-ready',
  'lab.ready',
  'lab.roster-synced',
  'vm.idle-warning',
  'vm.quota-warning',
  'vm.auto-shutdown',
  'lab.template-published',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Webhooks one tenant may register; one more is ConflictError `WEBHOOK_LIMIT_REACHED`. */
export const MAX_WEBHOOKS_PER_TENANT = 20;
export const MAX_WEBHOOK_URL_LENGTH = 2048;
export const MAX_WEBHOOK_DESCRIPTION_LENGTH = 500;

/**
 * A tenant's receiver of signed event notifications (Standard Webhooks). What clients see: the
 * signing secret is never part of it (it is shown once, when the webhook is created).
 */
export interface Webhook {
  /** UUID. */
  readonly id: string;
  readonly tenant: string;
  /** The vetted, normalised target URL (https; http only for allow-listed hosts). */
  readonly url: string;
  /** Non-empty, no duplicates, in the order of `WEBHOOK_EVENT_TYPES`. */
  readonly events: readonly WebhookEventType[];
  readonly description?: string;
  /** ISO 8601 (UTC). */
  readonly createdAt: string;
  /** Principal id of whoever registered it. */
  readonly createdBy: string;
}

/**
 * A webhook with its signing secret (`whsec_<base64>`), as stored. Only the repository and the
 * delivery worker handle this type; use cases hand out `Webhook` (see `toWebhook`).
 */
export interface WebhookRecord extends Webhook {
  readonly secret: string;
}

export function isWebhookEventType(value: unknown): value is WebhookEventType {
  return typeof value === 'string' && (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** The client view of a record: everything but the secret. */
export function toWebhook(record: Webhook | WebhookRecord): Webhook {
  return {
    id: record.id,
    tenant: record.tenant,
    url: record.url,
    events: [...record.events],
    ...(record.description === undefined ? {} : { description: record.description }),
    createdAt: record.createdAt,
    createdBy: record.createdBy,
  };
}

/** Events in the canonical order (duplicates dropped). */
export function canonicalEvents(events: readonly WebhookEventType[]): WebhookEventType[] {
  return WEBHOOK_EVENT_TYPES.filter((t) => events.includes(t));
}
