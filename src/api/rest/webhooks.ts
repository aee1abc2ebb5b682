import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { WebhookDelivery } from '../../domain/webhooks/delivery.js';
import type { Webhook } from '../../domain/webhooks/webhook.js';
import type { CreatedWebhook, WebhookService } from '../../domain/webhooks/webhook-service.js';
import { contentVersion, etagOf, ifMatchPrecondition } from './etag.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: { 'if-match'?: string } }>;
type TenantParams = { tenant: string };
type WebhookParams = { tenant: string; id: string };
type PageQuery = { limit?: number; cursor?: string };

/** The wire shape of a webhook (never the secret). */
export function webhookDto(w: Webhook): Schemas['Webhook'] {
  return {
    id: w.id,
    tenant: w.tenant,
    url: w.url,
    events: [...w.events],
    ...(w.description === undefined ? {} : { description: w.description }),
    createdAt: w.createdAt,
    createdBy: w.createdBy,
  };
}

/** A webhook's ETag: a digest of what a client sees (the store keeps no version to compare). */
export function webhookVersion(w: Webhook): string {
  return contentVersion(webhookDto(w));
}

/** The answer to a create: the webhook and, this once, its signing secret. */
export function createdWebhookDto(c: CreatedWebhook): Schemas['WebhookCreated'] {
  return { ...webhookDto(c.webhook), secret: c.secret };
}

export function deliveryDto(d: WebhookDelivery): Schemas['WebhookDelivery'] {
  return {
    id: d.id,
    webhookId: d.webhookId,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts,
    ...(d.lastAttemptAt === undefined ? {} : { lastAttemptAt: d.lastAttemptAt }),
    ...(d.nextAttemptAt === undefined ? {} : { nextAttemptAt: d.nextAttemptAt }),
    ...(d.responseStatus === undefined ? {} : { responseStatus: d.responseStatus }),
    ...(d.lastError === undefined ? {} : { lastError: d.lastError }),
    createdAt: d.createdAt,
  };
}

const pageOf = (q: PageQuery) => ({ limit: q.limit ?? DEFAULT_PAGE_LIMIT, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) });

/** REST handlers for tenant webhooks, keyed by the contract's operationIds. */
export function webhookHandlers(webhooks: WebhookService) {
  return {
    async listWebhooks(req: Req<TenantParams, PageQuery>): Promise<Schemas['WebhookList']> {
      const page = await webhooks.list(principalOf(req), req.params.tenant, pageOf(req.query));
      return { items: page.items.map(webhookDto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },

    async createWebhook(req: Req<TenantParams, unknown, Schemas['WebhookCreate']>, reply: FastifyReply) {
      const b = req.body;
      const created = await webhooks.create(principalOf(req), req.params.tenant, {
        url: b.url,
        events: b.events,
        ...(b.description === undefined ? {} : { description: b.description }),
      });
      return reply
        .code(201)
        .header('location', `/v1/tenants/${req.params.tenant}/webhooks/${created.webhook.id}`)
        .header('cache-control', 'no-store')
        .header('etag', etagOf(webhookVersion(created.webhook)))
        .send(createdWebhookDto(created));
    },

    async getWebhook(req: Req<WebhookParams>, reply: FastifyReply) {
      const w = await webhooks.get(principalOf(req), req.params.tenant, req.params.id);
      return reply.header('etag', etagOf(webhookVersion(w))).send(webhookDto(w));
    },

    async deleteWebhook(req: Req<WebhookParams>, reply: FastifyReply) {
      const { tenant, id } = req.params;
      await webhooks.delete(principalOf(req), tenant, id, ifMatchPrecondition(req.headers['if-match'], webhookVersion, `Webhook '${id}'`));
      return reply.code(204).send();
    },

    async listWebhookDeliveries(req: Req<WebhookParams, PageQuery>): Promise<Schemas['WebhookDeliveryList']> {
      const page = await webhooks.deliveries(principalOf(req), req.params.tenant, req.params.id, pageOf(req.query));
      return { items: page.items.map(deliveryDto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },
  };
}
