/**
 * A deliberately tiny template language for cloud-init files, so that every substituted value is
 * escaped for the context it lands in:
 * - `{{ name | sh }}`: one bash word (single-quoted, or `$'...'` when the value holds characters
 *   outside printable ASCII, so it always stays on one line);
 * - `{{ name | yaml }}`: a YAML double-quoted scalar (printable ASCII, the rest `\u` escaped);
 * - lines `{{#flag}}` ... `{{/flag}}` keep the lines between them only when `flag` is true.
 * Unknown flags, missing values and unknown escapers are errors, never silently empty.
 */
export type Escaper = 'sh' | 'yaml';

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

/** Quotes `value` as one bash word that expands to exactly `value` (NUL cannot be represented). */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new TypeError('a shell word cannot hold a NUL character');
  if (/^[\x20-\x7e]*$/.test(value)) return `'${value.replace(/'/g, `'\\''`)}'`;
  let out = "$'";
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x27) out += "\\'";
    else if (byte === 0x5c) out += '\\\\';
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${hex(byte, 2)}`;
  }
  return `${out}'`;
}

/** Quotes `value` as a YAML double-quoted scalar on one line. */
export function yamlQuote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else if (c <= 0xffff) out += `\\u${hex(c, 4)}`;
    else out += `\\U${hex(c, 8)}`;
  }
  return `${out}"`;
}

const ESCAPERS: Readonly<Record<Escaper, (v: string) => string>> = { sh: shellQuote, yaml: yamlQuote };

const SECTION = /^[ \t]*\{\{#(\w+)\}\}[ \t]*\n([\s\S]*?)^[ \t]*\{\{\/\1\}\}[ \t]*\n/gm;
const PLACEHOLDER = /\{\{\s*(\w+)\s*\|\s*(\w+)\s*\}\}/g;

export function renderTemplate(template: string, values: Readonly<Record<string, string>>, flags: Readonly<Record<string, boolean>>): string {
  const withSections = template.replace(SECTION, (_all, flag: string, body: string) => {
    const on = flags[flag];
    if (on === undefined) throw new Error(`template section {{#${flag}}} has no flag`);
    return on ? body : '';
  });
  if (/\{\{|\}\}/.test(withSections.replace(PLACEHOLDER, ''))) throw new Error('template has an unbalanced or unknown tag');
  return withSections.replace(PLACEHOLDER, (_all, name: string, escaper: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder ${name} has no value`);
    const escape = ESCAPERS[escaper as Escaper] as ((v: string) => string) | undefined;
    if (escape === undefined) throw new Error(`template placeholder ${name} has an unknown escaper ${escaper}`);
    return escape(value);
  });
}
