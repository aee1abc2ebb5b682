import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, KubeStatusError } from './errors.js';
import type { FieldValidation } from './schema-validator.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** Reads the request body as text; 413 above 3 MiB (the API server's request size limit). */
export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) {
      throw new KubeStatusError({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        code: 413,
        reason: 'RequestEntityTooLarge',
        message: 'Request entity too large: limit is 3145728',
      });
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a JSON body; 400 when empty or malformed. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw badRequest('the body of the request was empty');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Writes a JSON response. */
export function sendJson(res: ServerResponse, code: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Writes a plain-text response (health endpoints). */
export function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** `fieldValidation` query parameter (default Strict); 400 for unknown values. */
export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const v = query.get('fieldValidation');
  if (v === null || v === '' || v === 'Strict') return 'Strict';
  if (v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
}

/** `dryRun=All` (400 for other values). */
export function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  if (values.length === 0) return false;
  if (values.every((v) => v === 'All')) return true;
  throw badRequest(`dryRun: Unsupported value: "${values.join(',')}": supported values: "All"`);
}

/** A parsed resource URL. */
export interface ResourcePath {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Legacy `/watch/` path prefix. */
  watchPrefix: boolean;
}

/**
 * Splits `/api/v1/...` and `/apis/{g}/{v}/...` resource paths. Returns undefined for paths that are
 * not resource paths (discovery handles those); `extra` segments beyond the subresource are refused.
 */
export function parseResourcePath(segments: string[]): ResourcePath | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1]) {
    group = '';
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments[1] && segments[2]) {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return undefined;
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest = rest.slice(1);
  const namespacedForm = rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'));
  const [namespace, plural, name, subresource, extra] = namespacedForm
    ? [rest[1], rest[2], rest[3], rest[4], rest[5]]
    : [undefined, rest[0], rest[1], rest[2], rest[3]];
  if (!plural || extra !== undefined) return undefined;
  const out: ResourcePath = { group, version, plural, watchPrefix };
  if (namespace !== undefined) out.namespace = decodeURIComponent(namespace);
  if (name !== undefined) out.name = decodeURIComponent(name);
  if (subresource !== undefined) out.subresource = subresource;
  return out;
}
