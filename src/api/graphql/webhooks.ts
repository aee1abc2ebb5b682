import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { WebhookDelivery } from '../../domain/webhooks/delivery.js';
import { DELIVERED_EVENT_TYPES, type DeliveredEventType, type Webhook } from '../../domain/webhooks/webhook.js';
import type { UpdateWebhookInput, WebhookService } from '../../domain/webhooks/webhook-service.js';
import { requirePrincipal, type GraphQLContext } from './context.js';

/** Tenant webhooks over the same use cases as REST (GraphQL enum values cannot hold `.` or `-`). */
export const webhookTypeDefs = /* GraphQL */ `
  "Webhook event types: operation_succeeded is operation.succeeded on the wire, lab_roster_synced is lab.roster-synced, and so on."
  enum WebhookEvent {
    operation_succeeded
    operation_failed
    vm_ready
    vm_snapshot_ready
    lab_ready
    lab_roster_synced
    vm_idle_warning
    vm_quota_warning
    vm_auto_shutdown
    lab_template_published
    webhook_disabled
    "Sent on request to one webhook (pingWebhook); not subscribed to."
    webhook_ping
  }

  "active: deliveries are sent; disabled: none are (but pings), after the receiver failed too long or on request."
  enum WebhookStatus {
    active
    disabled
  }

  "A tenant's receiver of signed event notifications (Standard Webhooks). The signing secret is never shown here."
  type Webhook {
    id: ID!
    tenant: ID!
    url: String!
    events: [WebhookEvent!]!
    description: String
    createdAt: String!
    createdBy: String!
    "Opaque; pass it as expectedVersion to updateWebhook to avoid lost updates."
    version: String!
    status: WebhookStatus!
    disabledAt: String
    "receiver-failing (automatically) or requested."
    disabledReason: String
    "Since when every delivery attempt failed (null while the receiver answers 2xx)."
    failingSince: String
    secretRotatedAt: String
    "Until when the secret the last rotation replaced still signs deliveries too."
    previousSecretExpiresAt: String
  }

  type WebhookConnection {
    items: [Webhook!]!
    nextCursor: String
  }

  "A webhook and its (new) signing secret (whsec_...): keep it, it is shown this once."
  type CreatedWebhook {
    webhook: Webhook!
    secret: String!
  }

  "One event sent (or being sent) to one webhook."
  type WebhookDelivery {
    id: ID!
    webhookId: ID!
    eventId: String!
    eventType: WebhookEvent!
    "The delivery this one sends again."
    redeliveryOf: ID
    "pending, succeeded, failed or retrying."
    status: String!
    attempts: Int!
    lastAttemptAt: String
    nextAttemptAt: String
    responseStatus: Int
    lastError: String
    createdAt: String!
  }

  type WebhookDeliveryConnection {
    items: [WebhookDelivery!]!
    nextCursor: String
  }

  input CreateWebhookInput {
    "https:// (http:// only for hosts an administrator allow-listed)."
    url: String!
    events: [WebhookEvent!]!
    description: String
  }

  "What changes; absent fields stay (description: null or empty removes it)."
  input UpdateWebhookInput {
    url: String
    events: [WebhookEvent!]
    description: String
    "active re-enables a disabled webhook; disabled stops its deliveries."
    status: WebhookStatus
  }

  extend type Query {
    "The tenant's webhooks, oldest first (owners and labs.manage integrations)."
    webhooks(tenant: ID!, limit: Int = 50, cursor: String): WebhookConnection!
    "Recent deliveries to a webhook, newest first."
    webhookDeliveries(tenant: ID!, id: ID!, limit: Int = 50, cursor: String): WebhookDeliveryConnection!
  }

  extend type Mutation {
    "Registers a webhook; the payload holds its signing secret, shown this once."
    createWebhook(tenant: ID!, input: CreateWebhookInput!): CreatedWebhook!
    "Changes a webhook's URL, events, description or status (expectedVersion: refused when it changed meanwhile)."
    updateWebhook(tenant: ID!, id: ID!, input: UpdateWebhookInput!, expectedVersion: String): Webhook!
    "A new signing secret, shown this once; the old one keeps signing beside it for overlapHours (default 24)."
    rotateWebhookSecret(tenant: ID!, id: ID!, overlapHours: Float): CreatedWebhook!
    "Sends webhook.ping to the webhook; answers its delivery (pending)."
    pingWebhook(tenant: ID!, id: ID!): WebhookDelivery!
    "Sends a finished delivery again as a new delivery (same event, body and webhook-id)."
    redeliverWebhookDelivery(tenant: ID!, id: ID!, deliveryId: ID!): WebhookDelivery!
    "Deletes a webhook; deliveries still queued for it are dropped."
    deleteWebhook(tenant: ID!, id: ID!): Boolean!
  }
`;

const toGraphQL = (t: DeliveredEventType): string => t.replace(/[.-]/g, '_');
const FROM_GRAPHQL: ReadonlyMap<string, DeliveredEventType> = new Map(DELIVERED_EVENT_TYPES.map((t) => [toGraphQL(t), t]));
const fromGraphQL = (events: readonly string[]): string[] => events.map((e) => FROM_GRAPHQL.get(e) ?? e);

function webhookGraphQL(w: Webhook) {
  return {
    ...w,
    description: w.description ?? null,
    events: w.events.map(toGraphQL),
    disabledAt: w.disabledAt ?? null,
    disabledReason: w.disabledReason ?? null,
    failingSince: w.failingSince ?? null,
    secretRotatedAt: w.secretRotatedAt ?? null,
    previousSecretExpiresAt: w.previousSecretExpiresAt ?? null,
  };
}

function deliveryGraphQL(d: WebhookDelivery) {
  return {
    ...d,
    eventType: toGraphQL(d.eventType),
    redeliveryOf: d.redeliveryOf ?? null,
    lastAttemptAt: d.lastAttemptAt ?? null,
    nextAttemptAt: d.nextAttemptAt ?? null,
    responseStatus: d.responseStatus ?? null,
    lastError: d.lastError ?? null,
  };
}

function pageArgs(a: { limit: number; cursor?: string | null }) {
  if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
    throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
  }
  return { limit: a.limit, ...(a.cursor == null ? {} : { cursor: a.cursor }) };
}

interface CreateArgs {
  tenant: string;
  input: { url: string; events: readonly string[]; description?: string | null };
}

interface UpdateArgs {
  tenant: string;
  id: string;
  input: { url?: string | null; events?: readonly string[] | null; description?: string | null; status?: 'active' | 'disabled' | null };
  expectedVersion?: string | null;
}

/** GraphQL's explicit `null` means "leave it" for url, events and status; for description it removes it. */
function updateInputOf(input: UpdateArgs['input']): UpdateWebhookInput {
  return {
    ...(input.url == null ? {} : { url: input.url }),
    ...(input.events == null ? {} : { events: fromGraphQL(input.events) }),
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.status == null ? {} : { status: input.status }),
  };
}

export function webhookResolvers(webhooks: WebhookService) {
  return {
    Query: {
      webhooks: async (_: unknown, a: { tenant: string; limit: number; cursor?: string | null }, ctx: GraphQLContext) => {
        const page = await webhooks.list(requirePrincipal(ctx), a.tenant, pageArgs(a));
        return { items: page.items.map(webhookGraphQL), nextCursor: page.nextCursor ?? null };
      },
      webhookDeliveries: async (_: unknown, a: { tenant: string; id: string; limit: number; cursor?: string | null }, ctx: GraphQLContext) => {
        const page = await webhooks.deliveries(requirePrincipal(ctx), a.tenant, a.id, pageArgs(a));
        return { items: page.items.map(deliveryGraphQL), nextCursor: page.nextCursor ?? null };
      },
    },
    Mutation: {
      createWebhook: async (_: unknown, a: CreateArgs, ctx: GraphQLContext) => {
        const created = await webhooks.create(requirePrincipal(ctx), a.tenant, {
          url: a.input.url,
          events: fromGraphQL(a.input.events),
          ...(a.input.description == null ? {} : { description: a.input.description }),
        });
        return { webhook: webhookGraphQL(created.webhook), secret: created.secret };
      },
      updateWebhook: async (_: unknown, a: UpdateArgs, ctx: GraphQLContext) =>
        webhookGraphQL(await webhooks.update(requirePrincipal(ctx), a.tenant, a.id, updateInputOf(a.input), a.expectedVersion ?? undefined)),
      rotateWebhookSecret: async (_: unknown, a: { tenant: string; id: string; overlapHours?: number | null }, ctx: GraphQLContext) => {
        const rotated = await webhooks.rotateSecret(
          requirePrincipal(ctx),
          a.tenant,
          a.id,
          a.overlapHours == null ? {} : { overlapHours: a.overlapHours },
        );
        return { webhook: webhookGraphQL(rotated.webhook), secret: rotated.secret };
      },
      pingWebhook: async (_: unknown, a: { tenant: string; id: string }, ctx: GraphQLContext) =>
        deliveryGraphQL(await webhooks.ping(requirePrincipal(ctx), a.tenant, a.id)),
      redeliverWebhookDelivery: async (_: unknown, a: { tenant: string; id: string; deliveryId: string }, ctx: GraphQLContext) =>
        deliveryGraphQL(await webhooks.redeliver(requirePrincipal(ctx), a.tenant, a.id, a.deliveryId)),
      deleteWebhook: async (_: unknown, a: { tenant: string; id: string }, ctx: GraphQLContext) => {
        await webhooks.delete(requirePrincipal(ctx), a.tenant, a.id);
        return true;
      },
    },
  };
}
