import type { V1Secret } from '@kubernetes/client-node';
import { canonicalEvents, isWebhookEventType, type NewWebhookRecord, type WebhookRecord } from '../../domain/webhooks/webhook.js';
import { ANN_DESCRIPTION, LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY, MANAGED_SELECTOR } from './tenant-objects.js';

export const LABEL_WEBHOOK = 'labplane.io/webhook';
export const LABEL_WEBHOOK_ID = 'labplane.io/webhook-id';
/** Our webhook Secrets (all in the control plane's namespace). */
export const WEBHOOK_SELECTOR = `${MANAGED_SELECTOR},${LABEL_WEBHOOK}=true`;

/** The webhook Secrets of one tenant. */
export function tenantWebhookSelector(tenant: string): string {
  return `${WEBHOOK_SELECTOR},${LABEL_TENANT}=${tenant}`;
}
export const ANN_WEBHOOK_URL = 'labplane.io/webhook-url';
/** Comma-separated event types. */
export const ANN_WEBHOOK_EVENTS = 'labplane.io/webhook-events';
export const ANN_CREATED_BY = 'labplane.io/created-by';
/** ISO 8601 with milliseconds (creationTimestamp has seconds only). */
export const ANN_CREATED_AT = 'labplane.io/created-at';
/** ISO 8601: set while the webhook is disabled. */
export const ANN_DISABLED_AT = 'labplane.io/webhook-disabled-at';
/** Why it was disabled (`receiver-failing`, `requested`). */
export const ANN_DISABLED_REASON = 'labplane.io/webhook-disabled-reason';
/** ISO 8601: since when every delivery attempt failed. */
export const ANN_FAILING_SINCE = 'labplane.io/webhook-failing-since';
export const ANN_SECRET_ROTATED_AT = 'labplane.io/webhook-secret-rotated-at';
export const ANN_PREVIOUS_SECRET_EXPIRES_AT = 'labplane.io/webhook-previous-secret-expires-at';
/** Key of the signing secret (`whsec_...`) in the Secret's data. */
export const SIGNING_SECRET_KEY = 'signing-secret';
/** Key of the secret a rotation replaced, while it still signs (beside the new one). */
export const PREVIOUS_SIGNING_SECRET_KEY = 'previous-signing-secret';

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/** Secret name of a webhook (its id is a UUID: the name is a valid DNS subdomain). */
export function webhookSecretName(id: string): string {
  return `labplane-webhook-${id}`;
}

/**
 * The Secret that holds a webhook, in the control plane's namespace `namespace` (not the tenant's:
 * the control plane may read Secrets only there), labelled with its tenant.
 */
export function webhookSecretObject(w: NewWebhookRecord, namespace: string): V1Secret {
  const optional = (key: string, value: string | undefined): Record<string, string> => (value === undefined ? {} : { [key]: value });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: webhookSecretName(w.id),
      namespace,
      labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: w.tenant, [LABEL_WEBHOOK]: 'true', [LABEL_WEBHOOK_ID]: w.id },
      annotations: {
        [ANN_WEBHOOK_URL]: w.url,
        [ANN_WEBHOOK_EVENTS]: w.events.join(','),
        [ANN_CREATED_BY]: w.createdBy,
        [ANN_CREATED_AT]: w.createdAt,
        ...optional(ANN_DESCRIPTION, w.description),
        ...optional(ANN_DISABLED_AT, w.status === 'disabled' ? (w.disabledAt ?? new Date(0).toISOString()) : undefined),
        ...optional(ANN_DISABLED_REASON, w.status === 'disabled' ? w.disabledReason : undefined),
        ...optional(ANN_FAILING_SINCE, w.failingSince),
        ...optional(ANN_SECRET_ROTATED_AT, w.secretRotatedAt),
        ...optional(ANN_PREVIOUS_SECRET_EXPIRES_AT, w.previousSecret === undefined ? undefined : w.previousSecretExpiresAt),
      },
    },
    type: 'Opaque',
    data: {
      [SIGNING_SECRET_KEY]: b64(w.secret),
      ...(w.previousSecret === undefined ? {} : { [PREVIOUS_SIGNING_SECRET_KEY]: b64(w.previousSecret) }),
    },
  };
}

/** True for a Secret labelled as one of our webhooks. */
export function isWebhookSecret(s: V1Secret | undefined): s is V1Secret {
  const labels = s?.metadata?.labels ?? {};
  return labels[LABEL_MANAGED_BY] === MANAGED_BY && labels[LABEL_WEBHOOK] === 'true';
}

/** The webhook a Secret holds, or undefined when it is not (or no longer) a well-formed one of ours. */
export function webhookFromSecret(s: V1Secret): WebhookRecord | undefined {
  if (!isWebhookSecret(s)) return undefined;
  const labels = s.metadata?.labels ?? {};
  const ann = s.metadata?.annotations ?? {};
  const id = labels[LABEL_WEBHOOK_ID];
  const tenant = labels[LABEL_TENANT];
  const url = ann[ANN_WEBHOOK_URL];
  const encoded = s.data?.[SIGNING_SECRET_KEY];
  const events = (ann[ANN_WEBHOOK_EVENTS] ?? '').split(',').filter(isWebhookEventType);
  if (id === undefined || tenant === undefined || url === undefined || encoded === undefined || events.length === 0) return undefined;
  const optional = <K extends string>(key: K, value: string | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, string>));
  const disabledAt = ann[ANN_DISABLED_AT];
  const reason = ann[ANN_DISABLED_REASON];
  const previous = s.data?.[PREVIOUS_SIGNING_SECRET_KEY];
  return {
    id,
    tenant,
    url,
    events: canonicalEvents(events),
    ...optional('description', ann[ANN_DESCRIPTION]),
    createdAt: ann[ANN_CREATED_AT] ?? s.metadata?.creationTimestamp?.toISOString?.() ?? new Date(0).toISOString(),
    createdBy: ann[ANN_CREATED_BY] ?? '',
    version: s.metadata?.resourceVersion ?? '',
    status: disabledAt === undefined ? 'active' : 'disabled',
    ...(disabledAt === undefined ? {} : { disabledAt, disabledReason: reason === 'requested' ? 'requested' : 'receiver-failing' }),
    ...optional('failingSince', ann[ANN_FAILING_SINCE]),
    ...optional('secretRotatedAt', ann[ANN_SECRET_ROTATED_AT]),
    secret: Buffer.from(encoded, 'base64').toString('utf8'),
    ...(previous === undefined
      ? {}
      : {
          previousSecret: Buffer.from(previous, 'base64').toString('utf8'),
          ...optional('previousSecretExpiresAt', ann[ANN_PREVIOUS_SECRET_EXPIRES_AT]),
        }),
  };
}
