import { randomUUID } from 'node:crypto';
import { bindNamespace, checkNamespaceLifecycle, decodeObject, metadataCauses, nameCauses, normalize, prepareForCreate } from './admission.js';
import { alreadyExists, badRequest, conflict, invalid, notFound, successStatus } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import { applyPatch, parsePatchBody, patchTypeOf } from './patch.js';
import { checkQuota } from './quota.js';
import { withTypeMeta } from './resources.js';
import type { ResourceDef } from './resources.js';
import type { FieldValidation, SchemaValidator } from './schema-validator.js';
import { leaseDecodeProblem } from './lease-rules.js';
import { semanticCauses } from './semantic-rules.js';
import { generateNameFrom, timestamp } from './store.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, StatusCause } from './types.js';
import { clone, isObject } from './types.js';

/** What the write pipeline needs. */
export interface WriteEnv {
  store: ObjectStore;
  validator: SchemaValidator;
  lifecycle: Lifecycle;
}

/** Per-request write options from the query string. */
export interface WriteOptions {
  fieldValidation: FieldValidation;
  dryRun: boolean;
  fieldManager?: string;
}

/** HTTP outcome of a write. */
export interface WriteResult {
  code: number;
  body: unknown;
  /** `Warning` header values (unknown fields in Warn mode). */
  warnings: string[];
}

/** Name, schema and semantic validation, defaulting, then quota admission. Mutates `obj`. */
function validateAndAdmit(env: WriteEnv, def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, opts: WriteOptions): string[] {
  const name = obj.metadata.name ?? '';
  const undecodable = def.key === 'leases.coordination.k8s.io' ? leaseDecodeProblem(obj) : undefined;
  if (undecodable !== undefined) throw badRequest(undecodable);
  const causes: StatusCause[] = old ? [] : nameCauses(def, name);
  const result = env.validator.validate(def.schema, obj, opts.fieldValidation);
  causes.push(...metadataCauses(obj), ...result.causes, ...semanticCauses(def, obj, old));
  if (causes.length > 0) throw invalid(def, name, causes);
  normalize(def, obj);
  if (def.namespaced) checkQuota(env.store, def, obj.metadata.namespace ?? '', name, obj);
  return result.warnings.map((w) => `299 - "${w.replace(/"/g, '\\"')}"`);
}

/** POST: create (201). */
export function createObject(env: WriteEnv, def: ResourceDef, ns: string | undefined, body: unknown, opts: WriteOptions): WriteResult {
  const obj = decodeObject(def, body);
  bindNamespace(def, obj, ns);
  prepareForCreate(def, obj);
  const meta = obj.metadata;
  if (!meta.name && meta.generateName) meta.name = generateNameFrom(meta.generateName);
  if (!meta.name)
    throw invalid(def, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
  checkNamespaceLifecycle(env.store, def, ns ?? '', meta.name);
  const warnings = validateAndAdmit(env, def, obj, undefined, opts);
  if (opts.dryRun) {
    if (env.store.peek(def.key, ns, meta.name)) throw alreadyExists(def, meta.name);
    return { code: 201, body: withTypeMeta(def, { ...obj, metadata: { ...meta, uid: randomUUID(), creationTimestamp: timestamp() } }), warnings };
  }
  return { code: 201, body: withTypeMeta(def, env.store.create(def.key, obj)), warnings };
}

/** The object a PUT would store: main resource keeps the old status; `/status` keeps all but status. */
function nextState(def: ResourceDef, old: KubeObject, obj: KubeObject, subresource: string | undefined): KubeObject {
  if (subresource === 'status') {
    const next = clone(old);
    if (obj.status === undefined) delete next.status;
    else next.status = obj.status;
    if (obj.metadata.resourceVersion !== undefined) next.metadata.resourceVersion = obj.metadata.resourceVersion;
    else delete next.metadata.resourceVersion;
    return next;
  }
  if (def.statusSubresource) {
    if (old.status === undefined) delete obj.status;
    else obj.status = clone(old.status);
  }
  if (def.kind === 'Namespace' && old.metadata.labels?.['kubernetes.io/metadata.name']) {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': old.metadata.name ?? '' };
  }
  return obj;
}

function update(
  env: WriteEnv,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  body: unknown,
  opts: WriteOptions,
  subresource?: string,
): WriteResult {
  const old = env.store.peek(def.key, ns, name);
  if (!old) throw notFound(def, name);
  const obj = decodeObject(def, body);
  bindNamespace(def, obj, ns);
  if (obj.metadata.name !== name) {
    throw badRequest(`the name of the object (${obj.metadata.name ?? ''}) does not match the name on the URL (${name})`);
  }
  const rv = obj.metadata.resourceVersion;
  if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(def, name);
  if (rv === '') delete obj.metadata.resourceVersion;
  const next = nextState(def, old, obj, subresource);
  const warnings = validateAndAdmit(env, def, next, old, opts);
  if (opts.dryRun) return { code: 200, body: withTypeMeta(def, next), warnings };
  return { code: 200, body: withTypeMeta(def, env.store.update(def.key, next)), warnings };
}

/** PUT: replace with optimistic concurrency on `metadata.resourceVersion` (409 Conflict). */
export function replaceObject(
  env: WriteEnv,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  body: unknown,
  opts: WriteOptions,
  subresource?: string,
): WriteResult {
  return update(env, def, ns, name, body, opts, subresource);
}

/** PATCH: json / merge / strategic (as merge) / apply (create-or-merge). */
export function patchObject(
  env: WriteEnv,
  def: ResourceDef,
  ns: string | undefined,
  name: string,
  contentType: string | undefined,
  text: string,
  opts: WriteOptions,
  subresource?: string,
): WriteResult {
  const type = patchTypeOf(contentType);
  const patch = parsePatchBody(type, text);
  if (type === 'apply' && !opts.fieldManager) throw badRequest('PATCH, application/apply-patch+yaml: fieldManager is required for apply requests');
  const old = env.store.peek(def.key, ns, name);
  if (!old) {
    if (type !== 'apply' || subresource) throw notFound(def, name);
    if (!isObject(patch)) throw badRequest('apply patch must be an object');
    const meta = isObject(patch.metadata) ? patch.metadata : {};
    if (meta.name !== undefined && meta.name !== name) {
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    }
    return createObject(env, def, ns, { ...patch, metadata: { ...meta, name } }, opts);
  }
  const patched = applyPatch(type, withTypeMeta(def, clone(old)), patch);
  if (!isObject(patched) || !isObject(patched.metadata)) throw badRequest('the patched object has no metadata');
  if (type === 'apply') delete patched.metadata.resourceVersion;
  return update(env, def, ns, name, patched, opts, subresource);
}

/** Options a DELETE may carry in its body or query. */
export interface DeleteRequest {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
  dryRun: boolean;
}

/** DELETE: 200 with the object (CRDs, namespaces, PVCs, pods) or a Success Status. */
export function deleteObject(env: WriteEnv, def: ResourceDef, ns: string | undefined, name: string, req: DeleteRequest): WriteResult {
  const old = env.store.peek(def.key, ns, name);
  if (!old) throw notFound(def, name);
  const pre = req.preconditions;
  if (pre?.uid && pre.uid !== old.metadata.uid) {
    throw conflict(def, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid ?? ''}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
    throw conflict(
      def,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`,
    );
  }
  if (req.dryRun) return { code: 200, body: withTypeMeta(def, clone(old)), warnings: [] };
  if (def.key === 'namespaces') {
    return { code: 200, body: withTypeMeta(def, env.lifecycle.deleteNamespace(name) ?? clone(old)), warnings: [] };
  }
  if (req.propagationPolicy === 'Orphan' && old.metadata.uid) env.lifecycle.orphanDependentsOf(old.metadata.uid);
  const last = env.store.delete(def.key, ns, name) ?? clone(old);
  const body = def.returnDeletedObject ? withTypeMeta(def, last) : successStatus(def, name, old.metadata.uid);
  return { code: 200, body, warnings: [] };
}
