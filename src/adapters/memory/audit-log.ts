import type { AuditEvent, AuditFilter, AuditLog, NewAuditEvent } from '../../domain/audit/audit.js';
import { decodeCursor, encodeCursor, type Page, type PageRequest } from '../../domain/shared/page.js';

/** In-process audit log for the embedded default: bounded (oldest dropped), lost on restart. */
export function createMemoryAuditLog(opts: { maxEvents?: number } = {}): AuditLog {
  const max = opts.maxEvents ?? 100_000;
  const events: AuditEvent[] = [];
  let seq = 0;
  return {
    async append(e: NewAuditEvent) {
      seq += 1;
      events.push({ ...e, id: `${Date.parse(e.at)}-${String(seq).padStart(10, '0')}` });
      if (events.length > max) events.splice(0, events.length - max);
    },
    async list(filter: AuditFilter, page: PageRequest): Promise<Page<AuditEvent>> {
      const before = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
      const out: AuditEvent[] = [];
      for (let i = events.length - 1; i >= 0 && out.length <= page.limit; i--) {
        const e = events[i] as AuditEvent;
        if (before !== undefined && e.id >= before) continue;
        if (filter.tenant !== undefined && e.tenant !== filter.tenant) continue;
        if (filter.actor !== undefined && e.actor.id !== filter.actor) continue;
        out.push(e);
      }
      const items = out.slice(0, page.limit);
      const last = items.at(-1);
      return out.length > page.limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  };
}
