import type { V1Secret } from '@kubernetes/client-node';
import { canonicalEvents, isWebhookEventType, type WebhookRecord } from '../../domain/webhooks/webhook.js';
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
/** Key of the signing secret (`whsec_...`) in the Secret's data. */
export const SIGNING_SECRET_KEY = 'signing-secret';

/** Secret name of a webhook (its id is a UUID: the name is a valid DNS subdomain). */
export function webhookSecretName(id: string): string {
  return `labplane-webhook-${id}`;
}

/**
 * The Secret that holds a webhook, in the control plane's namespace `namespace` (not the tenant's:
 * the control plane may read Secrets only there), labelled with its tenant.
 */
export function webhookSecretObject(w: WebhookRecord, namespace: string): V1Secret {
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
        ...(w.description === undefined ? {} : { [ANN_DESCRIPTION]: w.description }),
      },
    },
    type: 'Opaque',
    data: { [SIGNING_SECRET_KEY]: Buffer.from(w.secret, 'utf8').toString('base64') },
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
  const description = ann[ANN_DESCRIPTION];
  return {
    id,
    tenant,
    url,
    events: canonicalEvents(events),
    ...(description === undefined ? {} : { description }),
    createdAt: ann[ANN_CREATED_AT] ?? s.metadata?.creationTimestamp?.toISOString?.() ?? new Date(0).toISOString(),
    createdBy: ann[ANN_CREATED_BY] ?? '',
    secret: Buffer.from(encoded, 'base64').toString('utf8'),
  };
}
