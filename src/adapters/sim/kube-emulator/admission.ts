import { badRequest, forbidden, internalError, notFound } from './errors.js';
import { apiVersionOf } from './resources.js';
import type { ResourceDef } from './resources.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, StatusCause } from './types.js';
import { isObject } from './types.js';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** Checks `metadata.name` with the rule of the resource (DNS-1123 label, subdomain or path segment). */
export function nameCauses(def: ResourceDef, name: string): StatusCause[] {
  const invalidName = (msg: string): StatusCause[] => [
    { reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": ${msg}` },
  ];
  if (def.nameRule === 'path') {
    if (name === '.' || name === '..') return invalidName(`may not be '${name}'`);
    if (/[/%]/.test(name)) return invalidName(`may not contain '${name.includes('/') ? '/' : '%'}'`);
    return [];
  }
  const [max, re, msg] = def.nameRule === 'label' ? [63, LABEL, LABEL_MSG] : [253, SUBDOMAIN, SUBDOMAIN_MSG];
  const causes: StatusCause[] = [];
  if (name.length > max) causes.push(...invalidName(`must be no more than ${max} characters`));
  if (!re.test(name)) causes.push(...invalidName(msg));
  return causes;
}

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Problems of a label/annotation key (`prefix/name`), as messages. */
function keyProblems(key: string): string[] {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  const problems: string[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !SUBDOMAIN.test(prefix))) problems.push(`prefix part ${SUBDOMAIN_MSG}`);
  if (name.length === 0) problems.push('name part must be non-empty');
  else if (name.length > 63) problems.push('name part must be no more than 63 characters');
  else if (!QUALIFIED_NAME.test(name)) problems.push(NAME_PART_MSG);
  return problems;
}

/** Label keys and values, and annotation keys, must be valid (422 otherwise). */
export function metadataCauses(obj: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const invalidAt = (field: string, value: string, msg: string): void => {
    causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: "${value}": ${msg}` });
  };
  for (const [key, value] of Object.entries(obj.metadata.labels ?? {})) {
    for (const p of keyProblems(key)) invalidAt('metadata.labels', key, p);
    if (typeof value !== 'string') continue;
    if (value.length > 63) invalidAt('metadata.labels', value, 'must be no more than 63 characters');
    else if (!LABEL_VALUE.test(value)) invalidAt('metadata.labels', value, LABEL_VALUE_MSG);
  }
  for (const key of Object.keys(obj.metadata.annotations ?? {})) {
    for (const p of keyProblems(key)) invalidAt('metadata.annotations', key, p);
  }
  return causes;
}

const TERMINATING_MSG = (ns: string): string => `unable to create new content in namespace ${ns} because it is being terminated`;

/** NamespaceLifecycle admission: 404 when the namespace does not exist, 403 while it terminates. */
export function checkNamespaceLifecycle(store: ObjectStore, def: ResourceDef, ns: string, name: string): void {
  if (!def.namespaced) return;
  const namespace = store.peek('namespaces', undefined, ns);
  if (!namespace) throw notFound({ plural: 'namespaces', group: '' }, ns);
  const phase = isObject(namespace.status) ? namespace.status.phase : undefined;
  if (namespace.metadata.deletionTimestamp || phase === 'Terminating') {
    throw forbidden(def, name, TERMINATING_MSG(ns), [{ reason: 'NamespaceTerminating', message: TERMINATING_MSG(ns), field: 'metadata.namespace' }]);
  }
}

/**
 * Decodes a request body into an object of the resource: checks apiVersion/kind (CRDs must carry
 * both, built-in kinds get them defaulted), and that `metadata` is an object. 400 otherwise.
 */
export function decodeObject(def: ResourceDef, body: unknown): KubeObject {
  if (!isObject(body)) throw badRequest(`the object provided is unrecognized (must be of type ${def.kind})`);
  const expected = apiVersionOf(def);
  if (!def.builtin && (body.apiVersion === undefined || body.kind === undefined)) {
    throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 200)}'`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== expected) {
    throw badRequest(`the API version in the data (${String(body.apiVersion)}) does not match the expected API version (${expected})`);
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw badRequest(`the object provided is unrecognized (must be of type ${def.kind}): kind ${String(body.kind)}`);
  }
  if (body.metadata !== undefined && !isObject(body.metadata)) throw badRequest('metadata must be an object');
  const obj = { ...body, apiVersion: expected, kind: def.kind, metadata: { ...(isObject(body.metadata) ? body.metadata : {}) } } as KubeObject;
  return obj;
}

/** Binds the object to the namespace of the URL; a different namespace in the body is 400. */
export function bindNamespace(def: ResourceDef, obj: KubeObject, ns: string | undefined): void {
  if (!def.namespaced) {
    delete obj.metadata.namespace;
    return;
  }
  const inBody = obj.metadata.namespace;
  if (inBody !== undefined && inBody !== '' && inBody !== ns) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  if (ns !== undefined) obj.metadata.namespace = ns;
}

/** Clears what clients may not set on create (500 for a resourceVersion, like etcd3 storage). */
export function prepareForCreate(def: ResourceDef, obj: KubeObject): void {
  if (obj.metadata.resourceVersion) throw internalError('resourceVersion should not be set on objects to be created');
  for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink', 'managedFields']) {
    delete obj.metadata[key];
  }
  if (def.statusSubresource && def.kind !== 'Node') delete obj.status;
  if (def.kind === 'Namespace') {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name ?? '' };
    const spec = isObject(obj.spec) ? obj.spec : {};
    obj.spec = { ...spec, finalizers: Array.isArray(spec.finalizers) ? spec.finalizers : ['kubernetes'] };
    obj.status = { phase: 'Active' };
  }
  if (def.kind === 'PersistentVolumeClaim') {
    obj.status = { phase: 'Pending' };
    if (isObject(obj.spec) && obj.spec.volumeMode === undefined) obj.spec.volumeMode = 'Filesystem';
  }
}

/** Kind-specific defaulting applied on every write (Secret `stringData` merged into `data`, default type). */
export function normalize(def: ResourceDef, obj: KubeObject): void {
  if (def.kind !== 'Secret') return;
  if (isObject(obj.stringData)) {
    const data: Record<string, unknown> = isObject(obj.data) ? { ...obj.data } : {};
    for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    obj.data = data;
  }
  delete obj.stringData;
  obj.type ??= 'Opaque';
}
