// Renders the error-code catalogue (src/domain/shared/error-codes.ts) into what is published from
// it: the `code` property of the OpenAPI Problem schema and docs/errors.md. Used by
// `npm run errors:generate` and by the drift test (test/unit/error-codes.test.ts).
import { ERROR_CODES, type ErrorCodeInfo, type RetryAdvice } from '../src/domain/shared/error-codes.js';

export const OPENAPI_BEGIN = '# error-codes:begin';
export const OPENAPI_END = '# error-codes:end';

const RETRY_TEXT: Readonly<Record<RetryAdvice, string>> = {
  later: 'yes, later',
  reread: 'after reading again',
};

const entries = (): Array<[string, ErrorCodeInfo]> => Object.entries(ERROR_CODES as Readonly<Record<string, ErrorCodeInfo>>);

function statuses(info: ErrorCodeInfo): string {
  return [info.status, ...(info.alsoStatus ?? [])].join(', ');
}

/** Markdown table rows; `|` cannot occur in a meaning (the test checks). */
function tableLines(): string[] {
  return [
    '| Code | Status | Retry helps | Meaning |',
    '| --- | --- | --- | --- |',
    ...entries().map(
      ([code, info]) => `| \`${code}\` | ${statuses(info)} | ${info.retry === undefined ? 'no' : RETRY_TEXT[info.retry]} | ${info.meaning} |`,
    ),
  ];
}

/** The `code` property of the Problem schema, indented for its place in openapi/openapi.yaml. */
export function renderOpenApiCode(indent: string): string {
  const i2 = `${indent}  `;
  const i4 = `${indent}    `;
  const lines = [
    `${indent}${OPENAPI_BEGIN} (generated from src/domain/shared/error-codes.ts by npm run errors:generate; do not edit)`,
    `${indent}code:`,
    `${i2}type: string`,
    `${i2}pattern: '^[A-Z][A-Z0-9_]*$'`,
    `${i2}description: |`,
    `${i4}Stable machine-readable code, also GraphQL's \`extensions.code\`. Every code the API answers with is listed`,
    `${i4}below and in \`x-error-codes\` (status, meaning, whether retrying helps). The list may grow: a client`,
    `${i4}must accept codes it does not know and fall back on \`status\`, which is why this is not an \`enum\`.`,
    '',
    ...tableLines().map((l) => `${i4}${l}`),
    `${i2}x-error-codes:`,
    ...entries().map(
      ([code, info]) =>
        `${i4}${code}: { status: ${info.status}${info.alsoStatus === undefined ? '' : `, alsoStatus: [${info.alsoStatus.join(', ')}]`}${info.retry === undefined ? '' : `, retry: ${info.retry}`}, meaning: ${JSON.stringify(info.meaning)} }`,
    ),
    `${indent}${OPENAPI_END}`,
  ];
  return lines.join('\n');
}

/** `text` (openapi.yaml) with the block between the markers replaced by a fresh rendering. */
export function withOpenApiCode(text: string): string {
  const lines = text.split('\n');
  const begin = lines.findIndex((l) => l.trimStart().startsWith(OPENAPI_BEGIN));
  const end = lines.findIndex((l) => l.trimStart().startsWith(OPENAPI_END));
  if (begin < 0 || end < begin) throw new Error(`openapi.yaml has no '${OPENAPI_BEGIN}' ... '${OPENAPI_END}' block in the Problem schema`);
  const indent = /^\s*/.exec(lines[begin] ?? '')?.[0] ?? '';
  return [...lines.slice(0, begin), renderOpenApiCode(indent), ...lines.slice(end + 1)].join('\n');
}

export function renderDoc(): string {
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/domain/shared/error-codes.ts by `npm run errors:generate`; a test fails when it drifts. -->',
    '',
    'Every refusal and failure carries a stable `code`: in a REST problem+json body (RFC 9457), in',
    "GraphQL's `extensions.code` (with `extensions.status`), in a failed operation's `error`, and in a",
    "lab student's failure. The contract lists the same table in the Problem schema (`x-error-codes`).",
    'New codes may be added: treat an unknown code by its HTTP status.',
    '',
    '- **Status**: the HTTP status the code answers with (a second one where the meaning says when).',
    '- **Retry helps**: *yes, later* — the same request may succeed later (honour `Retry-After`);',
    '  *after reading again* — read the resource again and retry with what it holds now; *no* —',
    '  something must change first.',
    '- `errors[].field` of a `VALIDATION_FAILED` problem is a JSON Pointer (RFC 6901) relative to the',
    '  request body, e.g. `/instructors/0/id` (`/` for the body as a whole); for a query, path or',
    '  header parameter `in` says which, e.g. `{ "field": "/limit", "in": "query" }`.',
    '',
    ...tableLines(),
    '',
  ].join('\n');
}
