import { parse } from 'csv-parse/sync';

/**
 * A person of a lab given by email (the contract's LabPersonInput with `email`; its generated type is
 * `unknown`, since openapi-typescript cannot express an `anyOf` of required lists).
 */
export interface LabPersonInput {
  readonly email: string;
  readonly displayName?: string;
}
export type RosterFormat = 'canvas' | 'moodle';

export interface RosterOptions {
  /** `auto` (default) tells Canvas from Moodle by the header row. */
  readonly format?: RosterFormat | 'auto';
  /**
   * Canvas only: the mail domain of logins that are not addresses. Canvas' gradebook export has no
   * email column; its `SIS Login ID` is often the address (or the user principal name), but where it
   * is a bare login (`jdoe`), `jdoe@<loginDomain>` is sent.
   */
  readonly loginDomain?: string;
}

export interface SkippedRow {
  /** 1-based line of the CSV file. */
  readonly line: number;
  readonly reason: string;
}

export interface Roster {
  readonly format: RosterFormat;
  /** People by email: the API resolves each address through the tenant's directory to one Azure AD user. */
  readonly students: LabPersonInput[];
  readonly skipped: SkippedRow[];
}

export class RosterError extends Error {
  override readonly name = 'RosterError';
}

const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
/** The API's limit on a roster (LabCreate.students maxItems). */
const MAX_STUDENTS = 2000;

function column(header: readonly string[], name: string): number {
  return header.findIndex((h) => h.trim().toLowerCase() === name.toLowerCase());
}

export function detectFormat(header: readonly string[]): RosterFormat {
  if (column(header, 'SIS Login ID') >= 0 && column(header, 'Student') >= 0) return 'canvas';
  if (column(header, 'Email address') >= 0 && column(header, 'First name') >= 0) return 'moodle';
  throw new RosterError(
    'The CSV is neither a Canvas gradebook export (columns "Student", "SIS Login ID") nor a Moodle participants export (columns "First name", "Last name", "Email address").',
  );
}

/** Canvas lists students as `Last, First` (its sortable name). */
function canvasDisplayName(sortable: string): string | undefined {
  const name = sortable.trim();
  if (name === '') return undefined;
  const comma = name.indexOf(',');
  return comma < 0 ? name : `${name.slice(comma + 1).trim()} ${name.slice(0, comma).trim()}`.trim();
}

/**
 * Reads a roster exported by Canvas (gradebook export: "Student","ID","SIS User ID","SIS Login ID",
 * "Section",…) or Moodle (participants: "First name","Last name","Email address",…) into the people
 * of a lab given by email. Canvas' "Points Possible" row and its Test Student are left out; Moodle
 * rows whose "Roles" column (when exported) does not say Student are left out, as are duplicate
 * addresses. Each row left out is listed with why.
 */
export function parseRoster(csv: string, options: RosterOptions = {}): Roster {
  const rows = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const header = rows[0];
  if (header === undefined) throw new RosterError('The CSV is empty.');
  const format = options.format === undefined || options.format === 'auto' ? detectFormat(header) : options.format;
  if (format !== detectFormat(header)) throw new RosterError(`The CSV's header is not that of a ${format} export.`);
  const domain = options.loginDomain?.replace(/^@/, '');
  if (domain !== undefined && !EMAIL.test(`x@${domain}`)) throw new RosterError(`--login-domain '${options.loginDomain}' is not a mail domain.`);
  const students: LabPersonInput[] = [];
  const skipped: SkippedRow[] = [];
  const seen = new Set<string>();
  const cell = (row: readonly string[], index: number) => (index < 0 ? '' : (row[index] ?? '').trim());

  const at = {
    student: column(header, 'Student'),
    login: column(header, 'SIS Login ID'),
    first: column(header, 'First name'),
    last: column(header, 'Last name'),
    email: column(header, 'Email address'),
    roles: column(header, 'Roles'),
  };
  rows.slice(1).forEach((row, i) => {
    const line = i + 2;
    let email: string;
    let displayName: string | undefined;
    if (format === 'canvas') {
      const name = cell(row, at.student);
      if (/^points possible$/i.test(name)) return; // the second row of every gradebook export
      if (name === 'Student, Test' || name === 'Test Student') {
        skipped.push({ line, reason: "Canvas' Test Student" });
        return;
      }
      const login = cell(row, at.login);
      if (login === '') {
        skipped.push({ line, reason: `${name || 'this row'} has no SIS Login ID` });
        return;
      }
      if (login.includes('@')) email = login;
      else if (domain !== undefined) email = `${login}@${domain}`;
      else {
        skipped.push({ line, reason: `SIS Login ID '${login}' is not an address (give --login-domain)` });
        return;
      }
      displayName = canvasDisplayName(name);
    } else {
      const roles = cell(row, at.roles);
      if (at.roles >= 0 && !/\bstudent\b/i.test(roles)) {
        skipped.push({ line, reason: `role '${roles || 'none'}' is not Student` });
        return;
      }
      email = cell(row, at.email);
      const name = `${cell(row, at.first)} ${cell(row, at.last)}`.trim();
      displayName = name === '' ? undefined : name;
    }
    if (!EMAIL.test(email)) {
      skipped.push({ line, reason: `'${email}' is not an email address` });
      return;
    }
    const key = email.toLowerCase();
    if (seen.has(key)) {
      skipped.push({ line, reason: `${email} is listed twice` });
      return;
    }
    seen.add(key);
    students.push({ email, ...(displayName === undefined ? {} : { displayName: displayName.slice(0, 256) }) });
  });
  if (students.length > MAX_STUDENTS) throw new RosterError(`The roster has ${students.length} students; a lab takes at most ${MAX_STUDENTS}.`);
  return { format, students, skipped };
}
