import type { Redis } from 'ioredis';
import type { AuditEvent, AuditFilter, AuditLog, NewAuditEvent } from '../../domain/audit/audit.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../../domain/shared/page.js';
import { guarded } from './redis-connection.js';

/**
 * Audit events in Redis streams: one for all events and one per tenant, trimmed by age
 * (`retentionDays`, default 90). Paging walks the stream backwards from the cursor's entry id.
 */
export function createRedisAuditLog(deps: { redis: Redis; prefix: string; retentionDays?: number }): AuditLog {
  const { redis, prefix } = deps;
  const retentionMs = (deps.retentionDays ?? 90) * 24 * 3600 * 1000;
  const all = `${prefix}:audit`;
  const ofTenant = (t: string) => `${prefix}:audit:t:${t}`;

  function parse(id: string, fields: string[]): AuditEvent | undefined {
    const i = fields.indexOf('e');
    if (i < 0) return undefined;
    try {
      return { ...(JSON.parse(fields[i + 1] ?? '') as NewAuditEvent), id };
    } catch {
      return undefined;
    }
  }

  return {
    async append(e: NewAuditEvent) {
      const minId = String(Date.now() - retentionMs);
      const body = JSON.stringify(e);
      await guarded('audit log', async () => {
        const m = redis.multi().xadd(all, 'MINID', '~', minId, '*', 'e', body);
        if (e.tenant !== undefined) m.xadd(ofTenant(e.tenant), 'MINID', '~', minId, '*', 'e', body);
        await m.exec();
      });
    },
    async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
      const key = filter.tenant === undefined ? all : ofTenant(filter.tenant);
      const items: AuditEvent[] = [];
      let end = page.cursor === undefined ? '+' : `(${decodeCursor(page.cursor)}`;
      // Filtering by actor may skip entries: read in chunks until the page is full or the stream ends.
      for (let rounds = 0; rounds < 20 && items.length <= page.limit; rounds++) {
        const chunk = await guarded('audit log', () => redis.xrevrange(key, end, '-', 'COUNT', page.limit + 1));
        for (const [id, fields] of chunk) {
          const e = parse(id, fields);
          if (e !== undefined && (filter.actor === undefined || e.actor.id === filter.actor)) items.push(e);
        }
        if (chunk.length < page.limit + 1) break;
        end = `(${chunk.at(-1)?.[0] ?? '0'}`;
      }
      const pageItems = items.slice(0, page.limit);
      const last = pageItems.at(-1);
      return items.length > page.limit && last !== undefined ? { items: pageItems, nextCursor: encodeCursor(last.id) } : { items: pageItems };
    },
  };
}
