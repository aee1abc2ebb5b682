import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { coreSchemaDocument } from './core-schemas.js';
import { addCrdKeywords, loadCrdSchemas } from './crd-schemas.js';
import { defaultCrdsDir, defaultSchemasDir } from './package-paths.js';
import { isQuantity } from '../../kubernetes/quantity.js';
import type { SchemaRef } from './resources.js';
import type { StatusCause } from './types.js';
import { isObject } from './types.js';

/** `fieldValidation` query parameter: what to do with fields the schema does not know. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Outcome of validating one object. */
export interface SchemaValidationResult {
  /** Errors to answer 422 Invalid with (empty when valid). */
  causes: StatusCause[];
  /** `unknown field "..."` warnings (Warn mode). */
  warnings: string[];
}

/** Validates objects against the strict schema of their resource. Compiled validators are cached. */
export interface SchemaValidator {
  /**
   * Validates `obj` in place: null values are pruned first (as for CRDs) and, in Warn/Ignore mode,
   * unknown fields are removed from `obj`.
   */
  validate(ref: SchemaRef, obj: Record<string, unknown>, mode?: FieldValidation): SchemaValidationResult;
}

type Schema = Record<string, unknown>;

const FREE_FORM = new Set(['RawExtension', 'FieldsV1', 'Patch']);

function shortName(definition: string): string {
  return definition.slice(definition.lastIndexOf('.') + 1);
}

/** Rewrites one Swagger schema node the way `fieldValidation=Strict` reads it (mutates a copy). */
function strictify(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(strictify);
    return;
  }
  if (!isObject(node)) return;
  delete node.nullable;
  if (isObject(node.properties)) {
    if (node.additionalProperties === undefined) node.additionalProperties = false;
    for (const child of Object.values(node.properties)) strictify(child);
  }
  for (const key of ['items', 'additionalProperties', 'allOf', 'anyOf', 'oneOf', 'not']) {
    if (node[key] !== undefined && typeof node[key] !== 'boolean') strictify(node[key]);
  }
}

/** Makes a Swagger `definitions` map strict, keeping Quantity/IntOrString/Time/free-form types permissive. */
export function strictDefinitions(definitions: Record<string, unknown>): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  for (const [name, raw] of Object.entries(definitions)) {
    const schema = structuredClone(raw) as Schema;
    const short = shortName(name);
    if (short === 'Quantity') out[name] = { type: ['string', 'number'], format: 'quantity' };
    else if (short === 'IntOrString') out[name] = { type: ['string', 'integer'] };
    else if (FREE_FORM.has(short)) out[name] = { type: 'object' };
    else {
      strictify(schema);
      if (schema.type === 'object' && schema.properties === undefined && schema.additionalProperties === undefined) {
        schema.properties = {};
        schema.additionalProperties = false;
      }
      out[name] = schema;
    }
  }
  return out;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for an IPv4 or IPv6 CIDR like `10.0.0.0/8` or `fd00::/64`. */
export function isCidr(value: string): boolean {
  const [ip, bits, extra] = value.split('/');
  if (ip === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const prefix = Number(bits);
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) return v4.slice(1).every((o) => Number(o) <= 255 && String(Number(o)) === o) && prefix <= 32;
  if (!/^[0-9a-fA-F:]+$/.test(ip) || !ip.includes(':') || prefix > 128) return false;
  const halves = ip.split('::');
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === '' ? [] : h.split(':')));
  if (groups.some((g) => g.length === 0 || g.length > 4)) return false;
  return halves.length === 2 ? groups.length < 8 : groups.length === 8;
}

function createAjv(useDefaults = false): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true, verbose: true, allowUnionTypes: true, validateSchema: false, logger: false, useDefaults });
  ajv.addFormat('date-time', RFC3339);
  ajv.addFormat('byte', BASE64);
  ajv.addFormat('quantity', { type: 'string', validate: (s: string) => isQuantity(s) });
  ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  return ajv;
}

function loadDefinitions(dir: string, file: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  if (!isObject(parsed) || !isObject(parsed.definitions)) throw new Error(`${file}: no "definitions"`);
  return parsed.definitions;
}

/** Removes null members of objects recursively (nulls are dropped for non-nullable fields). */
export function pruneNulls(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach(pruneNulls);
    return;
  }
  if (!isObject(value)) return;
  for (const [k, v] of Object.entries(value)) {
    if (v === null) delete value[k];
    else pruneNulls(v);
  }
}

function fieldPath(pointer: string, extra?: string): string {
  const segs =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (extra !== undefined) segs.push(extra);
  let out = '';
  for (const s of segs) {
    if (/^\d+$/.test(s)) out += `[${s}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${s}]`;
  }
  return out;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function toCause(e: ErrorObject): StatusCause | undefined {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { reason: 'FieldValueRequired', field: fieldPath(e.instancePath, String(params.missingProperty)), message: 'Required value' };
    case 'enum': {
      const allowed = (Array.isArray(params.allowedValues) ? params.allowedValues : []).map((v) => JSON.stringify(v)).join(', ');
      return {
        reason: 'FieldValueNotSupported',
        field: fieldPath(e.instancePath),
        message: `Unsupported value: ${JSON.stringify(e.data)}: supported values: ${allowed}`,
      };
    }
    case 'type': {
      const field = fieldPath(e.instancePath);
      const actual = typeName(e.data);
      return {
        reason: 'FieldValueInvalid',
        field,
        message: `Invalid value: "${actual}": ${field} in body must be of type ${String(params.type)}: "${actual}"`,
      };
    }
    case 'format': {
      const field = fieldPath(e.instancePath);
      return {
        reason: 'FieldValueInvalid',
        field,
        message: `Invalid value: ${JSON.stringify(e.data)}: ${field} in body must be of type ${String(params.format)}: ${JSON.stringify(e.data)}`,
      };
    }
    case 'if':
    case 'anyOf':
    case 'oneOf':
      return undefined;
    default:
      return {
        reason: 'FieldValueInvalid',
        field: fieldPath(e.instancePath),
        message: `Invalid value: ${JSON.stringify(e.data)}: ${e.message ?? 'invalid'}`,
      };
  }
}

function deleteAt(root: Record<string, unknown>, pointer: string, prop: string): void {
  let cur: unknown = root;
  const segs =
    pointer === ''
      ? []
      : pointer
          .slice(1)
          .split('/')
          .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (const s of segs) cur = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
  if (isObject(cur)) delete cur[prop];
}

const OBJECT_META = { type: 'object', properties: { metadata: { $ref: 'kubevirt#/definitions/k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta' } } };

class AjvSchemaValidator implements SchemaValidator {
  private readonly ajv = createAjv();
  /** Custom resources: their CRD's schema, with its `default`s applied as a real server does. */
  private readonly crdAjv = createAjv(true);
  private readonly compiled = new Map<string, ValidateFunction[]>();

  constructor(dir: string, crdsDir: string) {
    this.ajv.addSchema({ definitions: strictDefinitions(loadDefinitions(dir, 'kubevirt-openapi-v2.json')) }, 'kubevirt');
    this.ajv.addSchema({ definitions: strictDefinitions(loadDefinitions(dir, 'cdi-openapi-v2.json')) }, 'cdi');
    this.ajv.addSchema(coreSchemaDocument(), 'core');
    addCrdKeywords(this.crdAjv);
    this.crdAjv.addSchema({ definitions: loadCrdSchemas(crdsDir) }, 'crd');
  }

  validate(ref: SchemaRef, obj: Record<string, unknown>, mode: FieldValidation = 'Strict'): SchemaValidationResult {
    const fns = this.validators(ref);
    pruneNulls(obj);
    const errors = fns.flatMap((fn) => (fn(obj) ? [] : (fn.errors ?? [])));
    if (errors.length === 0) return { causes: [], warnings: [] };
    const causes: StatusCause[] = [];
    const warnings: string[] = [];
    const unknown: ErrorObject[] = [];
    const seen = new Set<string>();
    for (const e of errors) {
      if (e.keyword === 'additionalProperties' && e.params.additionalProperty !== undefined) {
        const field = fieldPath(e.instancePath, String(e.params.additionalProperty));
        if (mode === 'Strict') causes.push({ reason: 'FieldValueInvalid', field, message: `unknown field "${field}"` });
        else unknown.push(e);
        if (mode === 'Warn') warnings.push(`unknown field "${field}"`);
        continue;
      }
      const cause = toCause(e);
      const key = cause ? `${cause.field ?? ''}|${cause.message ?? ''}` : '';
      if (cause && !seen.has(key)) {
        seen.add(key);
        causes.push(cause);
      }
    }
    for (const e of unknown) deleteAt(obj, e.instancePath, String(e.params.additionalProperty));
    return { causes, warnings };
  }

  /** A CRD-defined kind is checked against its CRD's schema and its metadata against ObjectMeta. */
  private validators(ref: SchemaRef): ValidateFunction[] {
    const id = `${ref.doc}#/definitions/${ref.definition}`;
    let fns = this.compiled.get(id);
    if (!fns) {
      fns = ref.doc === 'crd' ? [this.crdAjv.compile({ $ref: id }), this.ajv.compile(OBJECT_META)] : [this.ajv.compile({ $ref: id })];
      this.compiled.set(id, fns);
    }
    return fns;
  }
}

const cache = new Map<string, SchemaValidator>();

/**
 * The validator for a schemas directory (KubeVirt and CDI swagger) and a CRD directory (loaded once
 * per process and pair of directories).
 */
export function schemaValidatorFor(dir: string = defaultSchemasDir(), crdsDir: string = defaultCrdsDir()): SchemaValidator {
  const key = `${dir}\n${crdsDir}`;
  let v = cache.get(key);
  if (!v) {
    v = new AjvSchemaValidator(dir, crdsDir);
    cache.set(key, v);
  }
  return v;
}
