import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Compiled request validators and response serializers, kept for the life of the process and
 * shared by every app it builds, keyed by the schema's JSON text (and the options it is compiled
 * with). Compiling the contract's ~150 routes is most of what building the app costs (measured:
 * 1.7 s of CPU per app, 41% of it fast-json-stringify and Ajv); a process builds one app in
 * production, but the test suite builds hundreds in a few workers, and benches build several. A
 * compiled function depends only on its schema and options, so the same text gives the same
 * function. The cache only grows with distinct schemas (the contract's), never per app.
 */
const validators = new Map<string, ValidateFunction>();
const serializers = new Map<string, (data: unknown) => string>();

const COMMON: Options = { allErrors: true, strict: false, useDefaults: true, removeAdditional: false, validateFormats: true };
let ajvs: { body: Ajv; params: Ajv } | undefined;

/**
 * The validator for one part of a request: bodies strictly (no type coercion, no removal of unknown
 * fields, every error reported); path, query and headers coerce strings to the declared types.
 */
export function compiledValidator(schema: unknown, httpPart: string | undefined): ValidateFunction {
  const body = httpPart === 'body';
  const key = `${body ? 'body' : 'params'}\u0000${JSON.stringify(schema)}`;
  let fn = validators.get(key);
  if (fn === undefined) {
    ajvs ??= {
      body: addFormats(new Ajv({ ...COMMON, coerceTypes: false })),
      params: addFormats(new Ajv({ ...COMMON, coerceTypes: 'array' })),
    };
    fn = (body ? ajvs.body : ajvs.params).compile(schema as object);
    validators.set(key, fn);
  }
  return fn;
}

type RouteSchema = { schema: unknown; method?: string; url?: string; httpStatus?: string };
const fastifyDefault = SerializerSelector();

/**
 * Fastify's own response serializer factory (@fastify/fast-json-stringify-compiler, what fastify
 * uses when none is given), with each compiled serializer kept by its schema, the external schemas
 * and the options. Given to fastify as `schemaController.compilersFactory.buildSerializer`.
 */
export function cachedSerializerFactory(externalSchemas: unknown, serializerOpts: unknown): (route: RouteSchema) => (data: unknown) => string {
  const build = fastifyDefault(externalSchemas as never, serializerOpts as never) as unknown as (route: RouteSchema) => (data: unknown) => string;
  const prefix = JSON.stringify([externalSchemas ?? null, serializerOpts ?? null]);
  return (route) => {
    const key = `${prefix}\u0000${JSON.stringify(route.schema)}`;
    let fn = serializers.get(key);
    if (fn === undefined) {
      fn = build(route);
      serializers.set(key, fn);
    }
    return fn;
  };
}
