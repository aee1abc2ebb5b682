import { Lexer, Source, TokenKind } from 'graphql';
import { statusOfCode, type ErrorCode } from '../../domain/shared/error-codes.js';

/**
 * How much GraphQL text one caller may make us read. Checked before the document is parsed or
 * validated: parse and validation are synchronous, so without a budget a single anonymous request
 * (a megabyte of `id id id …` or of fragment spreads) holds the event loop for seconds.
 */
export interface DocumentBudget {
  /** Characters of the document itself (the `query` string). */
  readonly maxChars: number;
  /** Lexical tokens (names, punctuation, values), counted by graphql-js' own lexer. */
  readonly maxTokens: number;
  /** Bytes of the whole HTTP body (document, variables, envelope), enforced before it is read. */
  readonly maxBodyBytes: number;
}

/**
 * Without a valid token nothing in the schema resolves, so an anonymous document only needs to be
 * large enough to be told so; signed-in callers get room for the largest real queries (GraphiQL's
 * introspection query is about 1,200 tokens) and are rate-limited per principal.
 */
export const DOCUMENT_BUDGETS = {
  anonymous: { maxChars: 2_048, maxTokens: 200, maxBodyBytes: 8_192 },
  signedIn: { maxChars: 65_536, maxTokens: 5_000, maxBodyBytes: 1_048_576 },
} as const satisfies Record<string, DocumentBudget>;

const OPERATION_KEYWORDS = new Set(['query', 'mutation', 'subscription', 'fragment']);

/** A document refused before parsing; `statusCode` and `extensions` are how mercurius answers it (the catalogue's status, our code). */
export class DocumentRefusedError extends Error {
  readonly statusCode: number;
  readonly extensions: { readonly code: ErrorCode };
  constructor(message: string, code: ErrorCode) {
    super(message);
    this.statusCode = statusOfCode(code);
    this.name = 'DocumentRefusedError';
    this.extensions = { code };
  }
}

function refuse(message: string, code: ErrorCode): never {
  throw new DocumentRefusedError(message, code);
}

/**
 * Refuses, in time proportional to the budget rather than to the document, a document over its
 * size or token budget, and one that cannot start an executable document. The last check matters
 * because mercurius, when graphql-js cannot parse a document, tries it as a JSON-encoded AST and
 * validates whatever that yields: an executable document begins with `{` and then a name or a
 * spread, or with an operation or fragment keyword, which no JSON text does.
 */
export function checkDocument(source: string, budget: DocumentBudget): void {
  if (source.length > budget.maxChars) {
    refuse(
      `The document has ${source.length} characters; at most ${budget.maxChars} are accepted${budget === DOCUMENT_BUDGETS.anonymous ? ' without a valid bearer token' : ''}.`,
      'GRAPHQL_DOCUMENT_TOO_LARGE',
    );
  }
  const lexer = new Lexer(new Source(source));
  const first: TokenKind[] = [];
  let tokens = 0;
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      tokens += 1;
      if (tokens > budget.maxTokens) {
        refuse(
          `The document has more than ${budget.maxTokens} tokens${budget === DOCUMENT_BUDGETS.anonymous ? ' (the limit without a valid bearer token)' : ''}.`,
          'GRAPHQL_DOCUMENT_TOO_LARGE',
        );
      }
      if (first.length < 2) {
        first.push(token.kind);
        if (first.length === 1 && token.kind === TokenKind.NAME && !OPERATION_KEYWORDS.has(token.value))
          refuse(
            `A document starts with a selection set or with query, mutation, subscription or fragment, not '${token.value}'.`,
            'GRAPHQL_PARSE_FAILED',
          );
        if (first.length === 1 && token.kind !== TokenKind.NAME && token.kind !== TokenKind.BRACE_L)
          refuse('A document starts with a selection set or with query, mutation, subscription or fragment.', 'GRAPHQL_PARSE_FAILED');
        if (first.length === 2 && first[0] === TokenKind.BRACE_L && token.kind !== TokenKind.NAME && token.kind !== TokenKind.SPREAD)
          refuse('A selection set holds fields or fragment spreads.', 'GRAPHQL_PARSE_FAILED');
      }
    }
  } catch (err) {
    if (err instanceof DocumentRefusedError) throw err;
    refuse(err instanceof Error ? err.message : 'The document is not valid GraphQL.', 'GRAPHQL_PARSE_FAILED');
  }
  if (tokens === 0) refuse('The document is empty.', 'GRAPHQL_PARSE_FAILED');
}

/** Documents up to this many characters are remembered once accepted (most real queries are well under it). */
export const REMEMBERED_MAX_CHARS = 8_192;
/** How many accepted documents are remembered per budget: at most 4 MiB of text each. */
export const REMEMBERED_DOCUMENTS = 512;

/**
 * `checkDocument` for one app, remembering the documents each budget accepted: a client sends the
 * same few documents over and over (mercurius keeps their parsed form for the same reason), and
 * lexing the bench's `vm` query again cost about 2 µs alone, 5 µs of a 155 µs read in a profile under
 * load. Refusals are not remembered (they
 * cost the caller a request each, and a refused document is never parsed), and neither are long
 * documents, so the memo holds at most REMEMBERED_DOCUMENTS × REMEMBERED_MAX_CHARS characters per
 * budget, the least recently accepted dropped first.
 */
export function createDocumentGuard(): (source: string, budget: DocumentBudget) => void {
  const accepted = new Map<DocumentBudget, Map<string, true>>();
  return (source, budget) => {
    let known = accepted.get(budget);
    if (known?.delete(source) === true) {
      known.set(source, true); // now the most recently accepted
      return;
    }
    checkDocument(source, budget);
    if (source.length > REMEMBERED_MAX_CHARS) return;
    if (known === undefined) accepted.set(budget, (known = new Map()));
    if (known.size >= REMEMBERED_DOCUMENTS) known.delete(known.keys().next().value as string);
    known.set(source, true);
  };
}

const SUGGESTION = / ?Did you mean [^?]*\?/g;

/**
 * graphql-js names close matches in its messages ("Did you mean …?"), which lists fields, types and
 * enum values to a caller who may not introspect; outside dev mode they are cut.
 */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '');
}
