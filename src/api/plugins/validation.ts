import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../domain/shared/errors.js';

function mediaTypeError(detail: string): Error {
  return Object.assign(new Error(detail), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/**
 * Request validation with the contract's schemas. Bodies are validated strictly: no type coercion,
 * no silent removal of unknown fields (the schemas say `additionalProperties: false`, so unknown
 * fields are errors), every error reported. Path, query and headers coerce strings to the declared types.
 */
export function installValidators(app: FastifyInstance): void {
  const common: Options = { allErrors: true, strict: false, useDefaults: true, removeAdditional: false, validateFormats: true };
  const bodyAjv = addFormats(new Ajv({ ...common, coerceTypes: false }));
  const paramAjv = addFormats(new Ajv({ ...common, coerceTypes: 'array' }));
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : paramAjv;
    return ajv.compile(schema);
  });
}

/**
 * Fastify validates a body only when its content type is one the route's schema lists, so a body
 * sent as another type (text/plain, say) would skip validation. Refuse it before validation: 415
 * for a type the contract does not list, 400 for a missing body the contract requires.
 */
export function installMediaTypeGuard(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    const body = (request.routeOptions.schema as { body?: { content?: Record<string, unknown> } } | undefined)?.body;
    const content = body?.content;
    if (content === undefined) return;
    const type = (request.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === '') {
      if (request.body === undefined || request.body === null) {
        throw new ValidationError('A request body is required.', [{ field: '/', message: `send ${Object.keys(content).join(' or ')}` }]);
      }
      throw mediaTypeError('A Content-Type header is required.');
    }
    if (!Object.hasOwn(content, type)) throw mediaTypeError(`Send ${Object.keys(content).join(' or ')}, not ${type}.`);
  });
}
