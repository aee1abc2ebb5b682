import { operationListKey } from '../operations/operation.js';
import type { Page, PageRequest } from '../shared/page.js';
import { uuidV5 } from '../shared/ids.js';
import type { DeliveredEventType } from './webhook.js';

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed' | 'retrying';

/** One event sent (or being sent) to one webhook, as clients see it. Timestamps are ISO 8601. */
export interface WebhookDelivery {
  /** Deterministic: `deliveryIdOf(eventId, webhookId)` (a UUID); a redelivery's is random. */
  readonly id: string;
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: DeliveredEventType;
  /** The delivery this one sends again (`POST .../redeliver`): same event, same body, same `webhook-id`. */
  readonly redeliveryOf?: string;
  readonly status: DeliveryStatus;
  /** Attempts made so far (0 while the first is pending). */
  readonly attempts: number;
  readonly lastAttemptAt?: string;
  /** When the next attempt is due (`retrying` only). */
  readonly nextAttemptAt?: string;
  /** HTTP status of the last answer, when there was one. */
  readonly responseStatus?: number;
  /** Why the last attempt failed: safe text (no secret, no URL), at most `MAX_DELIVERY_ERROR_LENGTH`. */
  readonly lastError?: string;
  readonly createdAt: string;
}

/** A delivery as stored: with its tenant and the exact body every attempt sends. */
export interface StoredDelivery extends WebhookDelivery {
  readonly tenant: string;
  /** The JSON body (`webhookPayload`); never holds the signing secret. */
  readonly payload: string;
}

/** Records kept per webhook (the newest), and for how long at most. */
export const DELIVERIES_PER_WEBHOOK = 100;
export const DELIVERY_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const MAX_DELIVERY_ERROR_LENGTH = 300;

/** A receiver has this long to answer 2xx (connection to the end of the response head). */
export const DELIVERY_TIMEOUT_MS = 10_000;

/**
 * When attempts are made, each relative to the failure of the one before: at once, then 5 s, 5 min,
 * 30 min, 2 h, 5 h, 8 h and 8 h later (about a day in all, 8 attempts). Injectable for tests.
 */
export const DEFAULT_DELIVERY_SCHEDULE_MS: readonly number[] = [0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 28_800_000, 28_800_000];

/** The id of the delivery of `eventId` to `webhookId` (also the queue's job id: dedupe). */
export function deliveryIdOf(eventId: string, webhookId: string): string {
  return uuidV5(`webhook-delivery:${eventId}:${webhookId}`);
}

/** Sort key of delivery lists: newest first, ties by id (`pageByKey` semantics). */
export function deliveryListKey(d: Pick<WebhookDelivery, 'createdAt' | 'id'>): string {
  return operationListKey(d);
}

/** The client view of a stored delivery (drops tenant and payload). */
export function toDelivery(d: StoredDelivery): WebhookDelivery {
  const { tenant: _tenant, payload: _payload, ...view } = d;
  return view;
}

/**
 * Delivery records (Redis, or memory). Invariants:
 * - `create` of an existing id writes nothing and resolves false (dedupe);
 * - at most `DELIVERIES_PER_WEBHOOK` records per webhook (the oldest go first), none older than
 *   `DELIVERY_RETENTION_MS`;
 * - `update` of a record that is gone (trimmed, expired, its webhook deleted) writes nothing;
 * - an unreachable backend surfaces as UpstreamUnavailableError.
 */
export interface DeliveryStore {
  create(delivery: StoredDelivery): Promise<boolean>;
  get(id: string): Promise<StoredDelivery | undefined>;
  update(delivery: StoredDelivery): Promise<void>;
  /** Newest first (`deliveryListKey`), paged with `pageByKey` cursor semantics. */
  list(webhookId: string, page: PageRequest): Promise<Page<StoredDelivery>>;
  /** Forgets every record of a deleted webhook. */
  deleteFor(webhookId: string): Promise<void>;
}

/**
 * What a delivery job carries: the delivery's id and which attempt it is, never the secret, the
 * body or anything else of the record (the processor reads the record).
 */
export interface DeliveryJob {
  readonly deliveryId: string;
  /**
   * Attempts the delivery had made when this job was queued (0: the first). A job whose record has
   * moved past it (a duplicate, a late redelivery) sends nothing.
   */
  readonly attempt: number;
}

/**
 * What the processor decided: finished (sent, dropped or given up), or attempt `attempt` (the
 * attempts made so far) is due in `retryInMs`.
 */
export type DeliveryVerdict = { readonly done: true } | { readonly done: false; readonly attempt: number; readonly retryInMs: number };

export type DeliveryHandler = (job: DeliveryJob, signal: AbortSignal) => Promise<DeliveryVerdict>;

/**
 * Runs delivery jobs (on a job transport: BullMQ with Redis, in process otherwise). Semantics:
 * - `enqueue` of a job (delivery id and attempt) that is queued, delayed, running or recently
 *   finished does nothing (dedupe);
 * - a verdict `retryInMs` queues the job of the next attempt after that delay; `done` ends it;
 * - a handler that throws is run again a few times with a backoff (infrastructure errors);
 * - `stop` lets running handlers finish within `graceMs`, then signals them to abort; `close`
 *   stops and releases the connections.
 */
export interface DeliveryQueue {
  readonly name: string;
  /** True when queued deliveries survive a restart. */
  readonly durable: boolean;
  enqueue(job: DeliveryJob): Promise<void>;
  start(handler: DeliveryHandler, options: { readonly concurrency: number }): Promise<void>;
  stop(options?: { readonly graceMs: number }): Promise<void>;
  close(): Promise<void>;
}

/** One HTTP POST to a vetted destination. */
export interface OutboundDelivery {
  /** The vetted URL: host header, TLS server name and path come from it. */
  readonly url: URL;
  /** The addresses the guard vetted: the connection goes to one of these and nowhere else. */
  readonly addresses: readonly string[];
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Sends one delivery attempt. Resolves with the answer's status (any status: redirects are not
 * followed); rejects with `DeliveryTransportError` when no answer came (refused, reset, TLS, timeout).
 */
export interface WebhookSender {
  send(delivery: OutboundDelivery): Promise<{ readonly status: number }>;
}

/** No HTTP answer: `reason` is safe to record (no secret, no URL). */
export class DeliveryTransportError extends Error {
  constructor(
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(reason, options);
    this.name = 'DeliveryTransportError';
  }
}
