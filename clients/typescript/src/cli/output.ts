import { stringify } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

/** A column of a table: its header and how a row shows in it. */
export type Column = readonly [header: string, value: (row: Record<string, unknown>) => unknown];

/** A column showing a (dotted) field. */
export const field = (header: string, path = header.toLowerCase()): Column => [
  header,
  (row) => path.split('.').reduce<unknown>((x, key) => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[key] : undefined), row),
];

function cellText(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows as aligned columns, headers in upper case (like kubectl). */
export function table(rows: readonly Record<string, unknown>[], columns: readonly Column[]): string {
  const cells = rows.map((row) => columns.map(([, value]) => cellText(value(row)).replace(/\s+/g, ' ')));
  const headers = columns.map(([h]) => h.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]?.length ?? 0)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/**
 * A list, or one object, in the chosen format. JSON and YAML print the API's data as it came; a table
 * shows the columns (one row for one object), or the object as YAML where no columns fit (a roster diff).
 */
export function render(format: OutputFormat, data: unknown, columns: readonly Column[]): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  if (format === 'yaml' || columns.length === 0) return stringify(data);
  if (Array.isArray(data)) return table(data as Record<string, unknown>[], columns);
  if (typeof data === 'object' && data !== null) return table([data as Record<string, unknown>], columns);
  return `${cellText(data)}\n`;
}
