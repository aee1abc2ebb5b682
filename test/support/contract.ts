import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { loadOpenApi, specOperations, type OpenApiDocument, type SpecOperation } from '../../src/api/openapi-spec.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Rewrites local `#/components/...` refs so schemas compile against the spec added under id `spec`. */
export function rebase(node: Json): Json {
  if (Array.isArray(node)) return node.map(rebase);
  if (node !== null && typeof node === 'object') {
    const out: { [k: string]: Json } = {};
    for (const [k, v] of Object.entries(node)) out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `spec${v}` : rebase(v);
    return out;
  }
  return node;
}

export interface Contract {
  readonly doc: OpenApiDocument;
  readonly operations: readonly SpecOperation[];
  /** The operation object (parameters, requestBody, responses) by operationId. */
  operation(operationId: string): Record<string, any>;
  /** Path-level parameters merged with the operation's. */
  parameters(operationId: string): Array<Record<string, any>>;
  /** Resolves a `$ref` (one level) to the object it names. */
  deref<T = Record<string, any>>(node: any): T;
  /** Validator of a schema of the contract (its local `$ref`s resolve against the contract). */
  validator(schema: object): ValidateFunction;
  /** Validator of a response body for (operation, status), or undefined when the status is not declared. */
  responseValidator(operationId: string, status: number): ValidateFunction | 'no-body' | undefined;
}

export function loadContract(): Contract {
  const doc = loadOpenApi();
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
  ajv.addSchema(rebase({ components: doc.components as Json } as Json) as object, 'spec');
  const ops = specOperations(doc);
  const byId = new Map(ops.map((o) => [o.operationId, o]));
  const cache = new Map<string, ValidateFunction | 'no-body' | undefined>();

  function deref<T>(node: any): T {
    if (node && typeof node.$ref === 'string') {
      const path = node.$ref.replace(/^#\//, '').split('/');
      let cur: any = doc;
      for (const p of path) cur = cur?.[p];
      return cur as T;
    }
    return node as T;
  }
  function operation(id: string): Record<string, any> {
    const o = byId.get(id);
    if (!o) throw new Error(`no operation ${id}`);
    return (doc.paths[o.path] as any)[o.method];
  }
  return {
    doc,
    operations: ops,
    operation,
    parameters(id) {
      const o = byId.get(id);
      if (!o) throw new Error(`no operation ${id}`);
      const pathLevel = ((doc.paths[o.path] as any).parameters ?? []).map(deref);
      return [...pathLevel, ...(operation(id)['parameters'] ?? []).map(deref)] as Array<Record<string, any>>;
    },
    deref,
    validator: (schema) => ajv.compile(rebase(schema as Json) as object),
    responseValidator(id, status) {
      const key = `${id} ${status}`;
      if (cache.has(key)) return cache.get(key);
      const responses = operation(id)['responses'] ?? {};
      const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
      let v: ValidateFunction | 'no-body' | undefined;
      if (declared !== undefined) {
        const r = deref<any>(declared);
        const content = r.content ?? {};
        const schema = (content['application/json'] ?? content['application/problem+json'])?.schema;
        v = schema === undefined ? 'no-body' : ajv.compile(rebase(schema) as object);
      }
      cache.set(key, v);
      return v;
    },
  };
}
