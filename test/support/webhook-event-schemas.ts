import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { loadOpenApi } from '../../src/api/openapi-spec.js';
import { rebase, type Json } from './contract.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** The event payloads the contract publishes under `webhooks:`, compiled with JSON Schema 2020-12 (OpenAPI 3.1's dialect). */
export interface WebhookEventSchemas {
  /** Event types with an entry under `webhooks:` that has a JSON request body schema. */
  readonly types: readonly string[];
  /** Schema errors of `body` as the payload of `type` (empty: valid); throws for a type the contract does not describe. */
  errors(type: string, body: unknown): string[];
}

export function loadWebhookEventSchemas(): WebhookEventSchemas {
  const doc = loadOpenApi();
  const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema(rebase({ components: doc.components as Json } as Json) as object, 'spec');
  const webhooks = (doc['webhooks'] ?? {}) as Record<string, { post?: { requestBody?: { content?: Record<string, { schema?: Json }> } } }>;
  const validators = new Map<string, ValidateFunction>();
  for (const [type, item] of Object.entries(webhooks)) {
    const schema = item.post?.requestBody?.content?.['application/json']?.schema;
    if (schema !== undefined && schema !== null) validators.set(type, ajv.compile(rebase(schema) as object));
  }
  return {
    types: [...validators.keys()],
    errors(type, body) {
      const v = validators.get(type);
      if (v === undefined) throw new Error(`the contract has no payload schema for webhook event '${type}'`);
      return v(body) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    },
  };
}
