import { Ajv, type Options } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

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
