import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { renderDoc } from '../../scripts/error-codes-render.js';
import { DocumentRefusedError } from '../../src/api/graphql/document-guard.js';
import { formatGraphQLError } from '../../src/api/graphql/plugin.js';
import { loadOpenApi } from '../../src/api/openapi-spec.js';
import { toProblem } from '../../src/api/problem.js';
import { operationDto } from '../../src/api/rest/operations.js';
import type { Operation, OperationProblem } from '../../src/domain/operations/operation.js';
import { ERROR_CODES, isErrorCode, notFoundResource, type ErrorCodeInfo } from '../../src/domain/shared/error-codes.js';
import { ConflictError, NotFoundError, QuotaExceededError, UpstreamUnavailableError, ValidationError } from '../../src/domain/shared/errors.js';

const catalogue = ERROR_CODES as Readonly<Record<string, ErrorCodeInfo>>;

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

// Where a code is written as a literal: `code: 'X'`, `x.code === 'X'`, and the first argument of an
// error, problem or refusal (`new ConflictError('X'`, `makeProblem('X'`, `refuse(msg, 'X')` is
// typed instead). ConfigError names settings, not codes.
const CODE_SITES = [
  /\bcode: '([A-Z][A-Z0-9_]+)'/g,
  /\bcode === '([A-Z][A-Z0-9_]+)'/g,
  /(?<!Config)(?:Error|Problem|refuse)\(\s*'([A-Z][A-Z0-9_]+)'/g,
];
/** Codes of Node, undici, fastify and the HTTP parser, which the source compares against. */
const FOREIGN = /^(E[A-Z]+|ERR_[A-Z_]+|FST_ERR_\w+|UND_ERR_\w+|ABORT_ERR|HPE_\w+)$/;

describe('the error-code catalogue', () => {
  it('is what the OpenAPI Problem schema publishes in x-error-codes (same codes, statuses, meanings, retry advice)', () => {
    const code = (loadOpenApi().components as any).schemas.Problem.properties.code;
    expect(code['x-error-codes']).toEqual(catalogue);
    for (const c of Object.keys(catalogue)) expect(code.description).toContain(`| \`${c}\` |`);
  });

  it('is what docs/errors.md lists, and the README links it', () => {
    expect(readFileSync('docs/errors.md', 'utf8')).toBe(renderDoc());
    expect(readFileSync('README.md', 'utf8')).toContain('docs/errors.md');
  });

  it('gives each code an error status and a one-sentence meaning that fits a table cell', () => {
    for (const [code, info] of Object.entries(catalogue)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      for (const s of [info.status, ...(info.alsoStatus ?? [])]) expect(s >= 400 && s <= 599, `${code} ${s}`).toBe(true);
      expect(info.alsoStatus?.includes(info.status) ?? false).toBe(false);
      expect(info.meaning, code).toMatch(/^[A-Z`][^|\n]*[.)]$/);
    }
  });

  it('holds every code literal written in src/ (the classes and makeProblem take ErrorCode; this catches the untyped rest)', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const file of sources('src')) {
      const text = readFileSync(file, 'utf8');
      for (const re of CODE_SITES) {
        for (const m of text.matchAll(re)) {
          const code = m[1] ?? '';
          if (FOREIGN.test(code)) continue;
          seen += 1;
          if (!isErrorCode(code)) unknown.push(`${file}: ${code}`);
        }
      }
    }
    expect(unknown).toEqual([]);
    // The walk finds the sites it is meant to find (it would pass vacuously if the patterns broke).
    expect(seen).toBeGreaterThan(100);
  });

  it('maps domain errors, non-domain problems and GraphQL errors to the status the catalogue gives', () => {
    const thrown = [
      new ConflictError('TENANT_EXISTS', 'x'),
      new QuotaExceededError('QUOTA_EXCEEDED', 'x'),
      new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', 'x'),
      new NotFoundError('lab', 'l1'),
      new ValidationError('x'),
    ];
    for (const err of thrown) {
      expect(toProblem(err)).toMatchObject({ code: err.code, status: ERROR_CODES[err.code].status });
      expect(formatGraphQLError(new GraphQLError('x', { originalError: err })).extensions).toMatchObject({
        code: err.code,
        status: ERROR_CODES[err.code].status,
      });
    }
    expect(toProblem(Object.assign(new Error('big'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      status: 413,
    });
    expect(toProblem(new Error('boom'))).toMatchObject({ code: 'INTERNAL', status: 500 });
    const refused = new DocumentRefusedError('too big', 'GRAPHQL_DOCUMENT_TOO_LARGE');
    expect(refused.statusCode).toBe(ERROR_CODES.GRAPHQL_DOCUMENT_TOO_LARGE.status);
    expect(formatGraphQLError(new GraphQLError('x', { extensions: { code: 'GRAPHQL_TOO_COSTLY' } })).extensions).toEqual({
      code: 'GRAPHQL_TOO_COSTLY',
      status: 400,
    });
    // A code from elsewhere (a library's) is not passed through as if it were ours.
    expect(formatGraphQLError(new GraphQLError('x', { extensions: { code: 'SOMETHING_ELSE' } })).extensions).toEqual({
      code: 'GRAPHQL_VALIDATION_FAILED',
      status: 400,
    });
  });

  it("gives a failed operation's error the catalogue's status (not a guess from how the code is spelt)", () => {
    const failed = (error: OperationProblem): Operation => ({
      id: 'op-1',
      kind: 'vm.start',
      target: { type: 'vm', id: 't1/vm-1' },
      status: 'failed',
      progress: { percent: 100 },
      attempts: 1,
      createdAt: '2026-12-06T10:00:00.000Z',
      updatedAt: '2026-12-06T10:00:01.000Z',
      error,
      createdBy: 'alice',
      cancelRequested: false,
    });
    // Answered 409 when thrown in a request; the old guess made it 422 inside an operation.
    expect(operationDto(failed({ code: 'VM_ACTION_REFUSED', title: 'refused' })).error).toMatchObject({ code: 'VM_ACTION_REFUSED', status: 409 });
    expect(operationDto(failed({ code: 'KUBERNETES_UNAVAILABLE', title: 'down' })).error).toMatchObject({ status: 503 });
    // A code only an older version wrote is still shown, as 422.
    expect(operationDto(failed({ code: 'RETIRED_CODE' as never, title: 'old' })).error).toMatchObject({ code: 'RETIRED_CODE', status: 422 });
  });

  it('names a not-found resource only when its code is a catalogued 404', () => {
    expect(notFoundResource('lease', 'object')).toBe('lease');
    expect(notFoundResource('gadget', 'object')).toBe('object');
    expect(notFoundResource('azure_principal', 'azure_resource')).toBe('azure_resource');
    expect(notFoundResource(undefined, 'object')).toBe('object');
  });
});
