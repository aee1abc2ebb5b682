import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { WebhookDelivery } from '../../domain/webhooks/delivery.js';
import type { Webhook } from '../../domain/webhooks/webhook.js';
import type { CreatedWebhook, WebhookService } from '../../domain/webhooks/webhook-service.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { etagOf, ifMatchPrecondition, ifMatchVersion } from './etag.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: { 'if-match'?: string } }>;
type TenantParams = { tenant: string };
type WebhookParams = { tenant: string; id: string };
type DeliveryParams = { tenant: string; id: string; deliveryId: string };
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
    version: w.version,
    status: w.status,
    ...(w.disabledAt === undefined ? {} : { disabledAt: w.disabledAt }),
    ...(w.disabledReason === undefined ? {} : { disabledReason: w.disabledReason }),
    ...(w.failingSince === undefined ? {} : { failingSince: w.failingSince }),
    ...(w.secretRotatedAt === undefined ? {} : { secretRotatedAt: w.secretRotatedAt }),
    ...(w.previousSecretExpiresAt === undefined ? {} : { previousSecretExpiresAt: w.previousSecretExpiresAt }),
  };
}

/** A webhook's ETag: the version its store keeps (compared atomically by updates). */
export function webhookVersion(w: Webhook): string {
  return w.version;
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
    ...(d.redeliveryOf === undefined ? {} : { redeliveryOf: d.redeliveryOf }),
    status: d.status,
    attempts: d.attempts,
    ...(d.lastAttemptAt === undefined ? {} : { lastAttemptAt: d.lastAttemptAt }),
    ...(d.nextAttemptAt === undefined ? {} : { nextAttemptAt: d.nextAttemptAt }),
    ...(d.responseStatus === undefined ? {} : { responseStatus: d.responseStatus }),
    ...(d.lastError === undefined ? {} : { lastError: d.lastError }),
    createdAt: d.createdAt,
  };
}

const deliveryLocation = (p: WebhookParams, deliveryId: string): string => `/v1/tenants/${p.tenant}/webhooks/${p.id}/deliveries/${deliveryId}`;

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
      return reply.header('etag', etagOf(w.version)).send(webhookDto(w));
    },

    async updateWebhook(req: Req<WebhookParams, unknown, Schemas['WebhookUpdate']>, reply: FastifyReply) {
      const b = req.body;
      const w = await webhooks.update(
        principalOf(req),
        req.params.tenant,
        req.params.id,
        {
          ...(b.url === undefined ? {} : { url: b.url }),
          ...(b.events === undefined ? {} : { events: b.events }),
          ...(b.description === undefined ? {} : { description: b.description }),
          ...(b.status === undefined ? {} : { status: b.status }),
        },
        ifMatchVersion(req.headers['if-match']),
      );
      return reply.header('etag', etagOf(w.version)).send(webhookDto(w));
    },

    async rotateWebhookSecret(req: Req<WebhookParams, unknown, Schemas['WebhookSecretRotation'] | undefined>, reply: FastifyReply) {
      const overlapHours = req.body?.overlapHours;
      const rotated = await webhooks.rotateSecret(
        principalOf(req),
        req.params.tenant,
        req.params.id,
        overlapHours === undefined ? {} : { overlapHours },
      );
      return reply.header('cache-control', 'no-store').send(createdWebhookDto(rotated));
    },

    async pingWebhook(req: Req<WebhookParams>, reply: FastifyReply) {
      const d = await webhooks.ping(principalOf(req), req.params.tenant, req.params.id);
      return reply.code(202).header('location', deliveryLocation(req.params, d.id)).send(deliveryDto(d));
    },

    async getWebhookDelivery(req: Req<DeliveryParams>) {
      return deliveryDto(await webhooks.delivery(principalOf(req), req.params.tenant, req.params.id, req.params.deliveryId));
    },

    async redeliverWebhookDelivery(req: Req<DeliveryParams>, reply: FastifyReply) {
      const d = await webhooks.redeliver(principalOf(req), req.params.tenant, req.params.id, req.params.deliveryId);
      return reply.code(202).header('location', deliveryLocation(req.params, d.id)).send(deliveryDto(d));
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
