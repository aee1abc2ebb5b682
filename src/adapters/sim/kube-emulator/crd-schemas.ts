import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ajv, ErrorObject, SchemaValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { isObject } from './types.js';

type Schema = Record<string, unknown>;

/**
 * Rewrites one node of a structural `openAPIV3Schema` into the strict JSON Schema the emulator
 * validates with (mutates it): objects reject unknown fields (a real server prunes them, or refuses
 * them with `fieldValidation=Strict`) unless `x-kubernetes-preserve-unknown-fields`; int-or-string
 * and `set` lists get their JSON Schema spelling; nulls are pruned before validation, so `nullable`
 * goes. `x-kubernetes-list-map-keys` is checked by a keyword (see {@link addCrdKeywords}); CEL rules
 * (`x-kubernetes-validations`) are not evaluated.
 */
function strictify(node: unknown): void {
  if (!isObject(node)) return;
  delete node.nullable;
  if (node['x-kubernetes-int-or-string'] === true) node.type = ['string', 'integer'];
  if (node['x-kubernetes-list-type'] === 'set') node.uniqueItems = true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (node.type === 'object' && !preserve && node.additionalProperties === undefined) {
    node.properties ??= {};
    node.additionalProperties = false;
  }
  if (isObject(node.properties)) for (const child of Object.values(node.properties)) strictify(child);
  for (const key of ['items', 'additionalProperties', 'not']) strictify(node[key]);
  for (const key of ['allOf', 'anyOf', 'oneOf']) if (Array.isArray(node[key])) node[key].forEach(strictify);
}

/** The strict schema of a CRD's storage version; `metadata` is left to the ObjectMeta schema. */
function crdSchema(file: string, crd: Record<string, unknown>): [string, Schema] {
  const name = isObject(crd.metadata) ? String(crd.metadata.name) : '';
  const versions = isObject(crd.spec) && Array.isArray(crd.spec.versions) ? crd.spec.versions : [];
  const storage = versions.find((v) => isObject(v) && v.storage === true) as Record<string, unknown> | undefined;
  const schema = isObject(storage?.schema) ? storage.schema.openAPIV3Schema : undefined;
  if (!isObject(schema)) throw new Error(`${file}: CustomResourceDefinition ${name} has no openAPIV3Schema on its storage version`);
  const root = structuredClone(schema);
  strictify(root);
  root.properties = {
    ...(isObject(root.properties) ? root.properties : {}),
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' },
  };
  return [name, root];
}

/** Schemas of every CustomResourceDefinition in `dir` (`*.yaml`, `*.yml`), keyed by CRD name (`labs.labplane.io`). */
export function loadCrdSchemas(dir: string): Record<string, Schema> {
  if (!existsSync(dir)) throw new Error(`CRD folder ${dir} does not exist (the emulator validates custom resources against deploy/crds)`);
  const out: Record<string, Schema> = {};
  for (const file of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const crd: unknown = doc.toJS({ maxAliasCount: -1 });
      if (!isObject(crd) || crd.kind !== 'CustomResourceDefinition') continue;
      const [name, schema] = crdSchema(file, crd);
      out[name] = schema;
    }
  }
  return out;
}

/** Entries of a list of objects must differ in their map keys (`x-kubernetes-list-type: map`). */
const uniqueMapKeys: SchemaValidateFunction = (keys: unknown, data: unknown) => {
  const errors: Array<Partial<ErrorObject>> = [];
  if (Array.isArray(keys) && Array.isArray(data)) {
    const seen = new Set<string>();
    data.forEach((item: unknown, i) => {
      if (!isObject(item)) return;
      const value = Object.fromEntries(keys.map((k) => [String(k), item[String(k)]]));
      const id = JSON.stringify(value);
      if (seen.has(id)) errors.push({ keyword: 'x-kubernetes-list-map-keys', message: `[${i}]: Duplicate value: ${id}`, params: {} });
      seen.add(id);
    });
  }
  uniqueMapKeys.errors = errors;
  return errors.length === 0;
};

/** Registers the Kubernetes extension keywords the CRD schemas use. */
export function addCrdKeywords(ajv: Ajv): void {
  ajv.addKeyword({ keyword: 'x-kubernetes-list-map-keys', type: 'array', schemaType: 'array', errors: true, validate: uniqueMapKeys });
}
