import type { JsonObject } from '../operations/operation.js';
import { STORAGE_CLASSES, type StorageClass } from '../images/image.js';
import type { AccessRole } from '../identity/access.js';
import type { VmAccessPlan, VmSpec } from './vm.js';

/**
 * Inputs of the VM job kinds, stored in clear on the operation: they never hold secrets (the
 * cloud-init Secret is written by the use case before the job starts; SSH keys are public anyway
 * and stay in the Secret only).
 */
export function specToInput(spec: VmSpec): JsonObject {
  return {
    tenant: spec.tenant,
    name: spec.name,
    id: spec.id,
    ownerId: spec.ownerId,
    ...(spec.lab === undefined ? {} : { lab: spec.lab }),
    image: { scope: spec.image.scope, name: spec.image.name },
    source: { namespace: spec.source.namespace, pvcName: spec.source.pvcName },
    ...(spec.instanceType === undefined ? {} : { instanceType: spec.instanceType }),
    cpu: spec.cpu,
    memoryGi: spec.memoryGi,
    diskGi: spec.diskGi,
    storageClass: spec.storageClass,
    arc: spec.arc,
    running: spec.running,
    labels: { ...spec.labels },
    ...(spec.access === undefined ? {} : { access: accessToInput(spec.access) }),
  };
}

/** The input of a `vm.identity` operation (ids and role names: no secrets). */
export function identityInput(vm: {
  readonly tenant: string;
  readonly name: string;
  readonly ownerId: string;
  readonly lab?: string | undefined;
  readonly access?: VmAccessPlan | undefined;
}): JsonObject {
  return {
    tenant: vm.tenant,
    name: vm.name,
    ownerId: vm.ownerId,
    ...(vm.lab === undefined ? {} : { lab: vm.lab }),
    ...(vm.access === undefined ? {} : { access: accessToInput(vm.access) }),
  };
}

/** An access plan as operation input (ids and role names only). */
export function accessToInput(plan: VmAccessPlan): JsonObject {
  return { ownerRole: plan.ownerRole, grants: plan.grants.map((g) => ({ principalId: g.principalId, role: g.role })) };
}

const isRole = (v: unknown): v is AccessRole => v === 'administrator' || v === 'user';

/** The access plan of an operation input, if it has a valid one. */
export function accessFromInput(input: JsonObject): VmAccessPlan | undefined {
  const a = input['access'];
  if (typeof a !== 'object' || a === null || Array.isArray(a)) return undefined;
  const plan = a as JsonObject;
  const grants = Array.isArray(plan['grants']) ? (plan['grants'] as JsonObject[]) : [];
  if (!isRole(plan['ownerRole'])) return undefined;
  return {
    ownerRole: plan['ownerRole'],
    grants: grants.flatMap((g) =>
      typeof g['principalId'] === 'string' && isRole(g['role']) ? [{ principalId: g['principalId'], role: g['role'] }] : [],
    ),
  };
}

function str(o: JsonObject, key: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new TypeError(`VM job input: '${key}' is missing`);
  return v;
}

function num(o: JsonObject, key: string): number {
  const v = o[key];
  if (typeof v !== 'number') throw new TypeError(`VM job input: '${key}' is missing`);
  return v;
}

function obj(o: JsonObject, key: string): JsonObject {
  const v = o[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TypeError(`VM job input: '${key}' is missing`);
  return v as JsonObject;
}

/** The spec of a `vm.create` operation, with the operation id that created it. */
export function specFromInput(input: JsonObject, operationId: string): VmSpec {
  const image = obj(input, 'image');
  const source = obj(input, 'source');
  const storageClass = str(input, 'storageClass');
  if (!(STORAGE_CLASSES as readonly string[]).includes(storageClass)) throw new TypeError('VM job input: bad storageClass');
  const scope = str(image, 'scope');
  const labels = Object.fromEntries(Object.entries(obj(input, 'labels')).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return {
    tenant: str(input, 'tenant'),
    name: str(input, 'name'),
    id: str(input, 'id'),
    ownerId: str(input, 'ownerId'),
    ...(typeof input['lab'] === 'string' ? { lab: input['lab'] } : {}),
    image: { scope: scope === 'tenant' ? 'tenant' : 'platform', name: str(image, 'name') },
    source: { namespace: str(source, 'namespace'), pvcName: str(source, 'pvcName') },
    ...(typeof input['instanceType'] === 'string' ? { instanceType: input['instanceType'] } : {}),
    cpu: num(input, 'cpu'),
    memoryGi: num(input, 'memoryGi'),
    diskGi: num(input, 'diskGi'),
    storageClass: storageClass as StorageClass,
    arc: input['arc'] === true,
    running: input['running'] !== false,
    labels,
    operationId,
    ...(accessFromInput(input) === undefined ? {} : { access: accessFromInput(input) as VmAccessPlan }),
  };
}

/** Tenant and VM name of any VM operation's input. */
export function vmOfInput(input: JsonObject): { tenant: string; name: string } {
  return { tenant: str(input, 'tenant'), name: str(input, 'name') };
}

/** Optional string field of an input. */
export function optionalString(input: JsonObject, key: string): string | undefined {
  const v = input[key];
  return typeof v === 'string' ? v : undefined;
}

/** The input of `vm.snapshot` and `vm.restore`: the VM, the snapshot and, for a snapshot, its size; for a restore, whether to stop the VM first. */
export function snapshotOfInput(input: JsonObject): { tenant: string; name: string; snapshot: string; sizeGi: number; stopFirst: boolean } {
  return {
    ...vmOfInput(input),
    snapshot: str(input, 'snapshot'),
    sizeGi: typeof input['sizeGi'] === 'number' ? input['sizeGi'] : 0,
    stopFirst: input['stopFirst'] === true,
  };
}
