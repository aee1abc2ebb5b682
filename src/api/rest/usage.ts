import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LabUsage, StudentUsageRow, TenantUsage, UsageService } from '../../domain/usage/usage-service.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';

type Schemas = components['schemas'];
type Req<P> = FastifyRequest<{ Params: P }>;

export function studentUsageDto(r: StudentUsageRow): Schemas['StudentUsage'] {
  return {
    student: { ...r.student },
    vm: r.vm,
    usedHours: r.usedHours,
    ...(r.quotaHours === undefined ? {} : { quotaHours: r.quotaHours }),
    addedHours: r.addedHours,
    ...(r.leftHours === undefined ? {} : { leftHours: r.leftHours }),
    exhausted: r.exhausted,
    ...(r.runningSince === undefined ? {} : { runningSince: r.runningSince }),
    ...(r.exhaustsAt === undefined ? {} : { exhaustsAt: r.exhaustsAt }),
  };
}

export function labUsageDto(u: LabUsage): Schemas['LabUsage'] {
  return {
    tenant: u.tenant,
    lab: u.lab,
    at: u.at,
    ...(u.quotaHours === undefined ? {} : { quotaHours: u.quotaHours }),
    students: u.students.map(studentUsageDto),
  };
}

export function tenantUsageDto(u: TenantUsage): Schemas['TenantUsage'] {
  return {
    tenant: u.tenant,
    at: u.at,
    labs: u.labs.map((l) => ({
      lab: l.lab,
      students: l.students,
      usedHours: l.usedHours,
      ...(l.quotaHours === undefined ? {} : { quotaHours: l.quotaHours }),
      exhaustedStudents: l.exhaustedStudents,
    })),
    otherVms: { ...u.otherVms },
  };
}

/**
 * One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break (quotes doubled);
 * a cell a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
 * return) gets a leading `'` first (OWASP's CSV injection advice). Numbers are written as they are.
 */
export function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return String(value);
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

const CSV_COLUMNS = [
  'student_id',
  'email',
  'display_name',
  'vm',
  'used_hours',
  'quota_hours',
  'added_hours',
  'left_hours',
  'exhausted',
  'running_since',
  'exhausts_at',
] as const;

/** The lab's usage as CSV: a header row, one row per student, CRLF line ends (RFC 4180). */
export function labUsageCsv(u: LabUsage): string {
  const rows = u.students.map((r) =>
    [
      r.student.id,
      r.student.email,
      r.student.displayName,
      r.vm,
      r.usedHours,
      r.quotaHours,
      r.addedHours,
      r.leftHours,
      r.exhausted,
      r.runningSince,
      r.exhaustsAt,
    ]
      .map(csvCell)
      .join(','),
  );
  return [CSV_COLUMNS.join(','), ...rows].map((line) => `${line}\r\n`).join('');
}

/** Whether the caller asked for CSV over JSON (`Accept`, by q-value; JSON wins ties and absence). */
export function wantsCsv(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  let csv = -1;
  let json = -1;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    const weight = Number.isFinite(q) ? q : 0;
    if (type.trim() === 'text/csv') csv = Math.max(csv, weight);
    else if (['application/json', 'application/*', '*/*'].includes(type.trim())) json = Math.max(json, weight);
  }
  return csv > 0 && csv > json;
}

export function usageHandlers(usage: UsageService) {
  return {
    async getLabUsage(req: Req<{ tenant: string; lab: string }>, reply: FastifyReply) {
      const u = await usage.labUsage(principalOf(req), req.params.tenant, req.params.lab);
      if (!wantsCsv(req.headers.accept)) return reply.send(labUsageDto(u));
      // Tenant and lab are DNS labels: safe in a quoted file name.
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="usage-${u.tenant}-${u.lab}-${u.at.slice(0, 10)}.csv"`)
        .send(labUsageCsv(u));
    },
    async getTenantUsage(req: Req<{ tenant: string }>) {
      return tenantUsageDto(await usage.tenantUsage(principalOf(req), req.params.tenant));
    },
  };
}
