import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import { WEBHOOK_EVENT_TYPES, type Webhook, type WebhookEventType } from '../../domain/webhooks/webhook.js';
import type { WebhookService } from '../../domain/webhooks/webhook-service.js';
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
  }

  type WebhookConnection {
    items: [Webhook!]!
    nextCursor: String
  }

  "A new webhook and its signing secret (whsec_...): keep it, it is shown this once."
  type CreatedWebhook {
    webhook: Webhook!
    secret: String!
  }

  input CreateWebhookInput {
    "https:// (http:// only for hosts an administrator allow-listed)."
    url: String!
    events: [WebhookEvent!]!
    description: String
  }

  extend type Query {
    "The tenant's webhooks, oldest first (owners and labs.manage integrations)."
    webhooks(tenant: ID!, limit: Int = 50, cursor: String): WebhookConnection!
  }

  extend type Mutation {
    "Registers a webhook; the payload holds its signing secret, shown this once."
    createWebhook(tenant: ID!, input: CreateWebhookInput!): CreatedWebhook!
    "Deletes a webhook; deliveries still queued for it are dropped."
    deleteWebhook(tenant: ID!, id: ID!): Boolean!
  }
`;

type GraphQLEvent =
  | 'operation_succeeded'
  | 'operation_failed'
  | 'vm_ready'
  | 'vm_snapshot_ready'
  | 'lab_ready'
  | 'lab_roster_synced'
  | 'vm_idle_warning'
  | 'vm_quota_warning'
  | 'vm_auto_shutdown'
  | 'lab_template_published';

const toGraphQL = (t: WebhookEventType): GraphQLEvent => t.replace(/[.-]/g, '_') as GraphQLEvent;
const FROM_GRAPHQL: ReadonlyMap<string, WebhookEventType> = new Map(WEBHOOK_EVENT_TYPES.map((t) => [toGraphQL(t), t]));

function webhookGraphQL(w: Webhook) {
  return { ...w, description: w.description ?? null, events: w.events.map(toGraphQL) };
}

interface CreateArgs {
  tenant: string;
  input: { url: string; events: readonly string[]; description?: string | null };
}

export function webhookResolvers(webhooks: WebhookService) {
  return {
    Query: {
      webhooks: async (_: unknown, a: { tenant: string; limit: number; cursor?: string | null }, ctx: GraphQLContext) => {
        if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
          throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
        }
        const page = await webhooks.list(requirePrincipal(ctx), a.tenant, { limit: a.limit, ...(a.cursor == null ? {} : { cursor: a.cursor }) });
        return { items: page.items.map(webhookGraphQL), nextCursor: page.nextCursor ?? null };
      },
    },
    Mutation: {
      createWebhook: async (_: unknown, a: CreateArgs, ctx: GraphQLContext) => {
        const created = await webhooks.create(requirePrincipal(ctx), a.tenant, {
          url: a.input.url,
          events: a.input.events.map((e) => FROM_GRAPHQL.get(e) ?? e),
          ...(a.input.description == null ? {} : { description: a.input.description }),
        });
        return { webhook: webhookGraphQL(created.webhook), secret: created.secret };
      },
      deleteWebhook: async (_: unknown, a: { tenant: string; id: string }, ctx: GraphQLContext) => {
        await webhooks.delete(requirePrincipal(ctx), a.tenant, a.id);
        return true;
      },
    },
  };
}
