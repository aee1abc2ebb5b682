import { Lexer } from 'graphql';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createDocumentGuard,
  DocumentRefusedError,
  DOCUMENT_BUDGETS,
  REMEMBERED_DOCUMENTS,
  REMEMBERED_MAX_CHARS,
} from '../../src/api/graphql/document-guard.js';

/** A query of `fields` selections (two tokens of braces, one per field). */
const query = (fields: number, name = 'f') => `{ ${Array.from({ length: fields }, (_, i) => `${name}${i}`).join(' ')} }`;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the GraphQL document guard remembers the documents it accepted', () => {
  it('lexes an accepted document once, then answers from memory', () => {
    const guard = createDocumentGuard();
    const advance = vi.spyOn(Lexer.prototype, 'advance');
    guard(query(10), DOCUMENT_BUDGETS.signedIn);
    const first = advance.mock.calls.length;
    expect(first).toBe(13); // 12 tokens and the end
    guard(query(10), DOCUMENT_BUDGETS.signedIn);
    expect(advance.mock.calls.length).toBe(first);
  });

  it('remembers per budget: a document a signed-in caller may send is still refused to an anonymous one', () => {
    const guard = createDocumentGuard();
    const big = query(300);
    guard(big, DOCUMENT_BUDGETS.signedIn);
    expect(() => guard(big, DOCUMENT_BUDGETS.anonymous)).toThrow(DocumentRefusedError);
    expect(() => guard(big, DOCUMENT_BUDGETS.anonymous)).toThrow(/more than 200 tokens/);
    guard(big, DOCUMENT_BUDGETS.signedIn);
  });

  it('does not remember refusals: a refused document is checked, and refused, every time', () => {
    const guard = createDocumentGuard();
    const advance = vi.spyOn(Lexer.prototype, 'advance');
    for (let i = 0; i < 3; i++) expect(() => guard('id id id', DOCUMENT_BUDGETS.signedIn)).toThrow(/not 'id'/);
    expect(advance.mock.calls.length).toBe(3);
  });

  it('keeps no long document and at most REMEMBERED_DOCUMENTS, dropping the least recently accepted', () => {
    const guard = createDocumentGuard();
    const advance = vi.spyOn(Lexer.prototype, 'advance');
    const lexedFor = (source: string) => {
      const before = advance.mock.calls.length;
      guard(source, DOCUMENT_BUDGETS.signedIn);
      return advance.mock.calls.length - before;
    };
    const long = query(1_200, 'field');
    expect(long.length).toBeGreaterThan(REMEMBERED_MAX_CHARS);
    expect(lexedFor(long)).toBeGreaterThan(0);
    expect(lexedFor(long)).toBeGreaterThan(0);

    const docs = Array.from({ length: REMEMBERED_DOCUMENTS }, (_, i) => `{ d${i} }`);
    for (const d of docs) lexedFor(d);
    expect(lexedFor(docs[0]!)).toBe(0); // docs[0] is now the most recently accepted, docs[1] the least
    expect(lexedFor('{ one_more }')).toBeGreaterThan(0);
    expect(lexedFor(docs[1]!)).toBeGreaterThan(0);
    expect(lexedFor(docs[0]!)).toBe(0);
  });

  it('each guard has its own memory', () => {
    const advance = vi.spyOn(Lexer.prototype, 'advance');
    createDocumentGuard()(query(3), DOCUMENT_BUDGETS.signedIn);
    const once = advance.mock.calls.length;
    createDocumentGuard()(query(3), DOCUMENT_BUDGETS.signedIn);
    expect(advance.mock.calls.length).toBe(2 * once);
  });
});
