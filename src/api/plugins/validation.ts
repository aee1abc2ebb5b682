import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../domain/shared/errors.js';
import { compiledValidator } from './compiled-schemas.js';

function mediaTypeError(detail: string): Error {
  return Object.assign(new Error(detail), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
}

/**
 * Request validation with the contract's schemas. Bodies are validated strictly: no type coercion,
 * no silent removal of unknown fields (the schemas say `additionalProperties: false`, so unknown
 * fields are errors), every error reported. Path, query and headers coerce strings to the declared
 * types. Compiled once per process and schema (compiled-schemas.ts).
 */
export function installValidators(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => compiledValidator(schema, httpPart));
}

/**
 * Fastify validates a body only when its content type is one the route's schema lists, so a body
 * sent as another type (text/plain, say) would skip validation. Refuse it before validation: 415
 * for a type the contract does not list, 400 for a missing body the contract requires (the
 * operations in `optionalBodies`, whose `requestBody.required` is not true, may come without one:
 * fastify-openapi-glue drops that flag from the route schema).
 */
export function installMediaTypeGuard(app: FastifyInstance, optionalBodies: ReadonlySet<string> = new Set()): void {
  // A callback, not an async hook: most requests (every GET) have no body and end here without a promise.
  app.addHook('preValidation', (request, _reply, done) => {
    const schema = request.routeOptions.schema as { body?: { content?: Record<string, unknown> }; operationId?: string } | undefined;
    const content = schema?.body?.content;
    if (content === undefined) return done();
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === '') {
      if (request.body === undefined || request.body === null) {
        if (schema?.operationId !== undefined && optionalBodies.has(schema.operationId)) return done();
        return done(new ValidationError('A request body is required.', [{ field: '/', message: `send ${Object.keys(content).join(' or ')}` }]));
      }
      return done(mediaTypeError('A Content-Type header is required.'));
    }
    if (!Object.hasOwn(content, type)) return done(mediaTypeError(`Send ${Object.keys(content).join(' or ')}, not ${type}.`));
    done();
  });
}

/** The operations of the contract whose request body may be left out (`requestBody.required` not true). */
export function optionalBodyOperations(doc: { paths: Record<string, Record<string, unknown>> }): Set<string> {
  const out = new Set<string>();
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item)) {
      const o = op as { operationId?: unknown; requestBody?: { required?: unknown } } | null;
      if (typeof o?.operationId === 'string' && o.requestBody !== undefined && o.requestBody.required !== true) out.add(o.operationId);
    }
  }
  return out;
}
