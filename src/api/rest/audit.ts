import type { FastifyRequest } from 'fastify';
import type { AuditService } from '../../domain/audit/audit.js';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import { principalOf } from '../plugins/auth.js';

export function auditHandlers(audit: AuditService) {
  return {
    async listAuditEvents(req: FastifyRequest<{ Querystring: { tenant?: string; actor?: string; limit?: number; cursor?: string } }>) {
      const q = req.query;
      const page = await audit.list(
        principalOf(req),
        { ...(q.tenant === undefined ? {} : { tenant: q.tenant }), ...(q.actor === undefined ? {} : { actor: q.actor }) },
        { limit: q.limit ?? DEFAULT_PAGE_LIMIT, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) },
      );
      return { items: page.items.map((e) => ({ ...e })), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
    },
  };
}
