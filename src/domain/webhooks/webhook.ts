/**
 * Event types a webhook may subscribe to: those of operations (see `webhookEventsOf` for when each is
 * sent), those of the idle detector (`vm.idle-warning`, `vm.quota-warning`: a running VM will be
 * stopped; `vm.auto-shutdown`: its stop was started; see `src/jobs/idle-detector-loop.ts`) and
 * `webhook.disabled` (another webhook of the tenant was disabled, see `createDeliveryProcessor`).
 * Each one's payload schema is in the contract (`webhooks:` of openapi/openapi.yaml).
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
  'webhook.disabled',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Event types sent to one webhook whatever it subscribed to (not subscribable): `webhook.ping`,
 * sent on request (`POST .../webhooks/{id}/ping`).
 */
export const WEBHOOK_DIRECT_EVENT_TYPES = ['webhook.ping'] as const;

/** Every event type a delivery may carry. */
export type DeliveredEventType = WebhookEventType | (typeof WEBHOOK_DIRECT_EVENT_TYPES)[number];

/** Every event type the code sends: the subscribable ones and the direct ones. */
export const DELIVERED_EVENT_TYPES: readonly DeliveredEventType[] = [...WEBHOOK_EVENT_TYPES, ...WEBHOOK_DIRECT_EVENT_TYPES];

/** `active`: deliveries are sent; `disabled`: none are (but pings), after failing too long or on request. */
export type WebhookStatus = 'active' | 'disabled';

/** How long a receiver may fail continuously before its webhook is disabled (default; `WEBHOOK_DISABLE_AFTER_HOURS`). */
export const DEFAULT_WEBHOOK_DISABLE_AFTER_MS = 72 * 3_600_000;
/** How long the secret a rotation replaced still signs deliveries (default; `WEBHOOK_SECRET_OVERLAP_HOURS`). */
export const DEFAULT_WEBHOOK_SECRET_OVERLAP_MS = 24 * 3_600_000;
/** The longest overlap a rotation may ask for. */
export const MAX_WEBHOOK_SECRET_OVERLAP_HOURS = 168;

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
  /** Opaque; changes on every write (the ETag). */
  readonly version: string;
  readonly status: WebhookStatus;
  /** When the webhook was disabled (`disabled` only). */
  readonly disabledAt?: string;
  /** Why (`disabled` only): `receiver-failing` (automatic) or `requested` (a PATCH). */
  readonly disabledReason?: WebhookDisabledReason;
  /** Since when every delivery attempt failed (no success since); absent while the receiver answers. */
  readonly failingSince?: string;
  /** When the signing secret was last rotated. */
  readonly secretRotatedAt?: string;
  /** Until when the secret a rotation replaced still signs deliveries (beside the new one). */
  readonly previousSecretExpiresAt?: string;
}

export type WebhookDisabledReason = 'receiver-failing' | 'requested';

/**
 * A webhook with its signing secret (`whsec_<base64>`), as stored. Only the repository and the
 * delivery worker handle this type; use cases hand out `Webhook` (see `toWebhook`).
 */
export interface WebhookRecord extends Webhook {
  readonly secret: string;
  /** The secret a rotation replaced, kept until `previousSecretExpiresAt`. */
  readonly previousSecret?: string;
}

/** A record as written: the store assigns its version. */
export type NewWebhookRecord = Omit<WebhookRecord, 'version'>;

/** The secrets that sign a delivery made at `now`: the current one, and the previous one during its overlap. */
export function signingSecretsOf(w: Pick<WebhookRecord, 'secret' | 'previousSecret' | 'previousSecretExpiresAt'>, now: Date): string[] {
  const overlapping =
    w.previousSecret !== undefined && w.previousSecretExpiresAt !== undefined && now.getTime() < Date.parse(w.previousSecretExpiresAt);
  return overlapping ? [w.secret, w.previousSecret as string] : [w.secret];
}

export function isDeliveredEventType(value: unknown): value is DeliveredEventType {
  return typeof value === 'string' && (DELIVERED_EVENT_TYPES as readonly string[]).includes(value);
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
    version: record.version,
    status: record.status,
    ...(record.disabledAt === undefined ? {} : { disabledAt: record.disabledAt }),
    ...(record.disabledReason === undefined ? {} : { disabledReason: record.disabledReason }),
    ...(record.failingSince === undefined ? {} : { failingSince: record.failingSince }),
    ...(record.secretRotatedAt === undefined ? {} : { secretRotatedAt: record.secretRotatedAt }),
    ...(record.previousSecretExpiresAt === undefined ? {} : { previousSecretExpiresAt: record.previousSecretExpiresAt }),
  };
}

/** Events in the canonical order (duplicates dropped). */
export function canonicalEvents(events: readonly WebhookEventType[]): WebhookEventType[] {
  return WEBHOOK_EVENT_TYPES.filter((t) => events.includes(t));
}
