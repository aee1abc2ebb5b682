import { checkOutboundUrl, URL_NOT_ALLOWED, type HostResolver, type OutboundPolicy } from '../net/index.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/ids.js';
import { isDomainError, isRetryable } from '../shared/errors.js';
import {
  DEFAULT_DELIVERY_SCHEDULE_MS,
  DELIVERY_TIMEOUT_MS,
  DeliveryTransportError,
  MAX_DELIVERY_ERROR_LENGTH,
  type DeliveryHandler,
  type DeliveryStore,
  type DeliveryVerdict,
  type StoredDelivery,
  type WebhookSender,
} from './delivery.js';
import type { AuditLog } from '../audit/audit.js';
import type { WebhookRepository } from './webhook-repository.js';
import { webhookHeaders } from './signing.js';
import { webhookDisabledEvent, type WebhookEvent } from './events.js';
import { DEFAULT_WEBHOOK_DISABLE_AFTER_MS, signingSecretsOf, toWebhook, type WebhookRecord } from './webhook.js';

/** Who the audit log names when a webhook is disabled for its failing receiver. */
export const WEBHOOK_DELIVERY_ACTOR = { id: 'labplane-webhooks', kind: 'service', name: 'labplane webhook delivery' } as const;

/** Where webhook URLs may point: https, http only for the admin's allow-list (see `OutboundPolicy`). */
export interface WebhookUrlPolicy {
  readonly httpAllowedHosts: readonly string[];
  readonly blockedHostSuffixes?: readonly string[];
}

/** The guard's policy for webhook targets. */
export function webhookOutboundPolicy(p: WebhookUrlPolicy): OutboundPolicy {
  return {
    allowedSchemes: ['https', 'http'],
    httpAllowedHosts: p.httpAllowedHosts,
    ...(p.blockedHostSuffixes === undefined ? {} : { blockedHostSuffixes: p.blockedHostSuffixes }),
  };
}

export interface DeliveryProcessorDeps {
  readonly repo: Pick<WebhookRepository, 'getWithSecret' | 'update'>;
  readonly store: DeliveryStore;
  readonly sender: WebhookSender;
  readonly resolver: HostResolver;
  readonly policy: WebhookUrlPolicy;
  readonly clock: Clock;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /** Default `DEFAULT_DELIVERY_SCHEDULE_MS`; its length is the number of attempts. */
  readonly schedule?: readonly number[];
  /** Default `DELIVERY_TIMEOUT_MS`. */
  readonly timeoutMs?: number;
  /** A receiver failing this long (every attempt since its first failure, ms) gets its webhook disabled; default `DEFAULT_WEBHOOK_DISABLE_AFTER_MS`. */
  readonly disableAfterMs?: number;
  /** Where the automatic disabling is recorded. */
  readonly auditLog?: Pick<AuditLog, 'append'>;
  /** Tells the tenant's other webhooks (`webhook.disabled`): `WebhookDispatcher.publishEvent`. */
  readonly publishEvent?: (event: WebhookEvent) => Promise<unknown>;
}

type Outcome =
  | { readonly kind: 'succeeded'; readonly status: number }
  | { readonly kind: 'retry'; readonly error: string; readonly status?: number }
  | { readonly kind: 'permanent'; readonly error: string; readonly status?: number };

function safe(text: string): string {
  return text.length <= MAX_DELIVERY_ERROR_LENGTH ? text : `${text.slice(0, MAX_DELIVERY_ERROR_LENGTH - 1)}…`;
}

/** What an HTTP answer means: 2xx delivered; 410 Gone stops retrying; anything else (3xx too) failed. */
export function classifyStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'succeeded', status };
  if (status === 410)
    return { kind: 'permanent', status, error: 'the receiver answered 410 Gone: retries of this delivery stopped (the webhook stays registered)' };
  if (status >= 300 && status < 400) return { kind: 'retry', status, error: `the receiver answered ${status}: redirects are not followed` };
  return { kind: 'retry', status, error: `the receiver answered ${status}` };
}

/**
 * The delivery worker's step (safe to run twice): loads the record and the webhook, vets the URL
 * again (DNS may have changed; a refusal fails the delivery for good), signs the stored body and
 * sends it to the vetted addresses only, then records the attempt. A finished or vanished record
 * and a deleted webhook end the job without sending. Retries follow `schedule`; after the last
 * attempt the delivery is `failed`.
 */
export function createDeliveryProcessor(deps: DeliveryProcessorDeps): DeliveryHandler {
  const { store, clock, logger } = deps;
  const schedule = deps.schedule ?? DEFAULT_DELIVERY_SCHEDULE_MS;
  if (schedule.length === 0) throw new TypeError('a delivery schedule needs at least one attempt');
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const policy = webhookOutboundPolicy(deps.policy);
  const disableAfterMs = deps.disableAfterMs ?? DEFAULT_WEBHOOK_DISABLE_AFTER_MS;
  const DONE: DeliveryVerdict = { done: true };

  /**
   * Keeps the webhook's health: the first failed attempt after a success sets `failingSince`, a
   * success clears it, and a failure `disableAfterMs` or more after `failingSince` disables the
   * webhook (once: the write that changes the state announces it). Writes only on those transitions.
   */
  async function track(webhook: WebhookRecord, ok: boolean, at: Date, deliveryId: string): Promise<void> {
    const since = webhook.failingSince === undefined ? undefined : Date.parse(webhook.failingSince);
    if (ok ? since === undefined : since !== undefined && (webhook.status === 'disabled' || at.getTime() - since < disableAfterMs)) return;
    let disabling = false;
    const res = await deps.repo.update(webhook.tenant, webhook.id, (current) => {
      disabling = false;
      const { failingSince, version: _v, ...rest } = current;
      if (ok) return failingSince === undefined ? undefined : rest;
      if (failingSince === undefined) return { ...rest, failingSince: at.toISOString() };
      if (current.status === 'disabled' || at.getTime() - Date.parse(failingSince) < disableAfterMs) return undefined;
      disabling = true;
      return { ...rest, failingSince, status: 'disabled', disabledAt: at.toISOString(), disabledReason: 'receiver-failing' };
    });
    if (res === undefined || !res.changed || !disabling) return;
    const hook = toWebhook(res.record);
    logger.warn(
      { webhookId: hook.id, tenant: hook.tenant, failingSince: hook.failingSince, disabledAt: hook.disabledAt },
      'webhook disabled: its receiver kept failing',
    );
    await deps.auditLog
      ?.append({
        at: at.toISOString(),
        actor: WEBHOOK_DELIVERY_ACTOR,
        action: 'webhook.auto-disable',
        method: 'JOB',
        path: `/v1/tenants/${hook.tenant}/webhooks/${hook.id}`,
        tenant: hook.tenant,
        target: { type: 'webhook', id: hook.id },
        result: { status: 200 },
        requestId: deliveryId,
        reason: 'Webhook:ReceiverFailing',
      })
      .catch((err: unknown) => logger.warn({ err, webhookId: hook.id }, 'audit event of a disabled webhook not stored'));
    await deps
      .publishEvent?.(webhookDisabledEvent(hook))
      .catch((err: unknown) => logger.warn({ err, webhookId: hook.id }, "webhook.disabled not queued to the tenant's other webhooks"));
  }

  async function attempt(record: StoredDelivery, secrets: readonly string[], url: string, signal: AbortSignal): Promise<Outcome> {
    let vetted;
    try {
      vetted = await checkOutboundUrl(url, policy, deps.resolver);
    } catch (err) {
      if (isDomainError(err) && err.code === URL_NOT_ALLOWED) {
        const reason = typeof err.details?.['reason'] === 'string' ? err.details['reason'] : 'refused';
        return { kind: 'permanent', error: `the outbound URL guard refused the target: ${reason}` };
      }
      if (isRetryable(err)) return { kind: 'retry', error: 'the target host could not be resolved right now' };
      throw err;
    }
    const headers = webhookHeaders(secrets, record.eventId, clock.now(), record.payload);
    try {
      const res = await deps.sender.send({ url: vetted.url, addresses: vetted.addresses, headers, body: record.payload, timeoutMs, signal });
      return classifyStatus(res.status);
    } catch (err) {
      if (err instanceof DeliveryTransportError) return { kind: 'retry', error: err.reason };
      throw err;
    }
  }

  return async (job, signal) => {
    const record = await store.get(job.deliveryId);
    if (record === undefined || record.status === 'succeeded' || record.status === 'failed') return DONE;
    if (record.attempts !== job.attempt) {
      // A duplicate or late job: the record has moved on. Its own next attempt is (re)queued (a no-op while queued).
      if (record.attempts < job.attempt) return DONE;
      const due = record.nextAttemptAt === undefined ? NaN : Date.parse(record.nextAttemptAt) - clock.now().getTime();
      return { done: false, attempt: record.attempts, retryInMs: Number.isFinite(due) ? Math.max(0, due) : 0 };
    }
    const webhook = await deps.repo.getWithSecret(record.tenant, record.webhookId);
    if (webhook === undefined) {
      logger.info({ deliveryId: job.deliveryId, webhookId: record.webhookId }, 'webhook deleted; delivery dropped');
      return DONE;
    }
    if (webhook.status === 'disabled' && record.eventType !== 'webhook.ping') {
      const { nextAttemptAt: _n, ...rest } = record;
      await store.update({ ...rest, status: 'failed', lastError: 'the webhook is disabled: nothing is sent to it (re-enable it with PATCH)' });
      return DONE;
    }
    const n = record.attempts + 1;
    const outcome = await attempt(record, signingSecretsOf(webhook, clock.now()), webhook.url, signal);
    // Interrupted by a shutdown: not an attempt of the receiver's; the queue hands the job back.
    if (outcome.kind !== 'succeeded' && signal.aborted) throw new Error('the delivery attempt was interrupted');
    const now = clock.now();
    // The webhook's health is kept apart from the delivery: a failure to record it is logged, the delivery goes on.
    await track(webhook, outcome.kind === 'succeeded', now, record.id).catch((err: unknown) =>
      logger.warn({ err, webhookId: record.webhookId }, 'could not record the webhook receiver health'),
    );
    const { nextAttemptAt: _next, lastError: _error, responseStatus: _status, ...rest } = record;
    const common: StoredDelivery = {
      ...rest,
      attempts: n,
      lastAttemptAt: now.toISOString(),
      ...(outcome.status === undefined ? {} : { responseStatus: outcome.status }),
    };
    if (outcome.kind === 'succeeded') {
      await store.update({ ...common, status: 'succeeded' });
      return DONE;
    }
    const delay = schedule[n];
    if (outcome.kind === 'permanent' || delay === undefined) {
      await store.update({ ...common, status: 'failed', lastError: safe(outcome.error) });
      logger.warn({ deliveryId: job.deliveryId, webhookId: record.webhookId, attempts: n, reason: safe(outcome.error) }, 'webhook delivery failed');
      return DONE;
    }
    const nextAttemptAt = new Date(now.getTime() + delay).toISOString();
    await store.update({ ...common, status: 'retrying', lastError: safe(outcome.error), nextAttemptAt });
    return { done: false, attempt: n, retryInMs: delay };
  };
}
