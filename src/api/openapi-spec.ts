import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CORE_SCHEMA, load } from 'js-yaml';

/** Path of the REST contract, the single source of truth for routes and schemas. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../openapi/openapi.yaml', import.meta.url));

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Reads and parses the contract (once per call: callers keep the result). js-yaml rather than the
 * `yaml` package used elsewhere: it parses the 300 KB contract in about 70 ms against 340 ms, which
 * every process that serves the API (and every test process that builds one) paid at start. Its
 * YAML 1.2 core schema reads what `yaml` reads (a date stays a string; a duplicated key is refused);
 * test/api/openapi-parse.unit.test.ts holds the two parsers to the same result on the contract.
 */
export function loadOpenApi(path: string = OPENAPI_PATH): OpenApiDocument {
  return load(readFileSync(path, 'utf8'), { schema: CORE_SCHEMA, filename: path }) as OpenApiDocument;
}

let shared: OpenApiDocument | undefined;

/**
 * The contract as the app serves it, parsed once per process and deeply frozen: every app a process
 * builds reads the same copy (parsing the 300 KB YAML was 4% of building one). Clone before changing.
 * Through JSON so that its strings are copies, not slices holding the whole YAML text.
 */
export function contractDocument(): OpenApiDocument {
  shared ??= deepFreeze(JSON.parse(JSON.stringify(loadOpenApi())) as OpenApiDocument);
  return shared;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** JSON Schema annotations: documentation only, read by neither Ajv's validation nor fast-json-stringify. */
const ANNOTATIONS = new Set(['description', 'examples', 'example', '$comment']);
/** Keywords whose value is a map of names to schemas. */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is a schema or an array of schemas. */
const SUBSCHEMAS = new Set([
  'items',
  'prefixItems',
  'additionalItems',
  'additionalProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'allOf',
  'anyOf',
  'oneOf',
]);

/** A copy of a schema without annotations (nor `x-` extensions) at any depth; values (`enum`, `default`, `const`) untouched. */
function withoutAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutAnnotations);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith('x-')) continue;
    if (SCHEMA_MAPS.has(key) && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, withoutAnnotations(s)]));
    } else out[key] = SUBSCHEMAS.has(key) ? withoutAnnotations(value) : value;
  }
  return out;
}

/** A copy of an OpenAPI object (not a schema) whose Schema Objects (under `schema`) lose their annotations. */
function withLeanSchemas(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withLeanSchemas);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, key === 'schema' ? withoutAnnotations(value) : withLeanSchemas(value)]));
}

/**
 * The contract as the routes are built from it (fastify-openapi-glue): every Schema Object without
 * its annotations (descriptions, examples, `x-` extensions such as the Problem schema's 40 KB table
 * of error codes). openapi-glue inlines every \$ref into a copy per route and per response, so the
 * documentation alone took about 40 MiB of the API's heap. Validation and serialization read none
 * of it; operations keep their own fields (operationId, `x-permission`); the served document is the
 * full contract.
 */
export function routeSpec(doc: OpenApiDocument): OpenApiDocument {
  const { components, ...rest } = doc;
  const lean = withLeanSchemas(rest) as OpenApiDocument;
  if (components === undefined) return lean;
  const { schemas, ...otherComponents } = components as { schemas?: Record<string, unknown> };
  return {
    ...lean,
    components: {
      ...(withLeanSchemas(otherComponents) as Record<string, unknown>),
      ...(schemas === undefined ? {} : { schemas: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, withoutAnnotations(s)])) }),
    },
  };
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface SpecOperation {
  readonly operationId: string;
  readonly method: string;
  readonly path: string;
  readonly permission: string;
}

/** Every operation of the contract with the permission it declares (`x-permission`). */
export function specOperations(doc: OpenApiDocument): SpecOperation[] {
  const out: SpecOperation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method] as { operationId?: string; 'x-permission'?: string } | undefined;
      if (op === undefined) continue;
      out.push({ operationId: op.operationId ?? `${method} ${path}`, method, path, permission: op['x-permission'] ?? '' });
    }
  }
  return out;
}
