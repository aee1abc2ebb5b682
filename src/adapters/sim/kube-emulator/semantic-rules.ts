import { leaseRules } from './lease-rules.js';
import { compareQuantities, isQuantity, parseQuantity } from '../../kubernetes/quantity.js';
import type { ResourceDef } from './resources.js';
import type { KubeObject, StatusCause } from './types.js';
import { isObject } from './types.js';

/**
 * Cross-field rules a real API server (or the KubeVirt/CDI admission webhooks) enforces beyond the
 * schema: RBAC subject/roleRef rules and roleRef immutability, PVC required fields and immutability,
 * immutable Secrets, KubeVirt name references and CDI source selection.
 */
export function semanticCauses(def: ResourceDef, obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const rule = RULES[def.key];
  return rule ? rule(obj, old, def) : [];
}

type Rule = (obj: KubeObject, old: KubeObject | undefined, def: ResourceDef) => StatusCause[];

const RBAC_GROUP = 'rbac.authorization.k8s.io';

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asRecord = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function notSupported(field: string, value: unknown, supported: string[]): StatusCause {
  return {
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${JSON.stringify(value ?? '')}: supported values: ${supported.map((s) => JSON.stringify(s)).join(', ')}`,
  };
}

function bindingRules(obj: KubeObject, old: KubeObject | undefined, def: ResourceDef): StatusCause[] {
  const causes: StatusCause[] = [];
  const clusterScoped = def.kind === 'ClusterRoleBinding';
  const roleRef = asRecord(obj.roleRef);
  if (roleRef.apiGroup !== undefined && roleRef.apiGroup !== RBAC_GROUP)
    causes.push(notSupported('roleRef.apiGroup', roleRef.apiGroup, [RBAC_GROUP]));
  if (clusterScoped && roleRef.kind !== undefined && roleRef.kind !== 'ClusterRole')
    causes.push(notSupported('roleRef.kind', roleRef.kind, ['ClusterRole']));
  asArray(obj.subjects).forEach((raw, i) => {
    const s = asRecord(raw);
    const base = `subjects[${i}]`;
    if (s.kind === 'User' || s.kind === 'Group') {
      if (s.apiGroup !== RBAC_GROUP) causes.push(notSupported(`${base}.apiGroup`, s.apiGroup, [RBAC_GROUP]));
    } else if (s.kind === 'ServiceAccount') {
      if (s.apiGroup !== undefined && s.apiGroup !== '') causes.push(notSupported(`${base}.apiGroup`, s.apiGroup, ['']));
      if (clusterScoped && !str(s.namespace)) causes.push({ reason: 'FieldValueRequired', field: `${base}.namespace`, message: 'Required value' });
    }
    if (str(s.name) === '') causes.push({ reason: 'FieldValueRequired', field: `${base}.name`, message: 'Required value' });
  });
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(obj.roleRef)) {
    causes.push({ reason: 'FieldValueInvalid', field: 'roleRef', message: `Invalid value: ${JSON.stringify(obj.roleRef)}: cannot change roleRef` });
  }
  return causes;
}

function storageOf(spec: Record<string, unknown>): unknown {
  return asRecord(asRecord(spec.resources).requests).storage;
}

function pvcRules(obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = asRecord(obj.spec);
  if (asArray(spec.accessModes).length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.accessModes', message: 'Required value: at least 1 access mode is required' });
  }
  const storage = storageOf(spec);
  if (storage === undefined) causes.push({ reason: 'FieldValueRequired', field: 'spec.resources[storage]', message: 'Required value' });
  if (old) {
    const oldSpec = asRecord(old.spec);
    const strip = (s: Record<string, unknown>): string => {
      const { resources: _r, volumeAttributesClassName: _v, volumeName: _n, ...rest } = s;
      return JSON.stringify(rest);
    };
    if (strip(spec) !== strip(oldSpec)) {
      causes.push({
        reason: 'FieldValueForbidden',
        field: 'spec',
        message: 'Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      });
    }
    const before = storageOf(oldSpec);
    if (isQuantity(storage) && isQuantity(before) && compareQuantities(parseQuantity(storage as string), parseQuantity(before as string)) < 0) {
      causes.push({
        reason: 'FieldValueForbidden',
        field: 'spec.resources.requests.storage',
        message: 'Forbidden: field can not be less than previous value',
      });
    }
  }
  return causes;
}

function secretRules(obj: KubeObject, old: KubeObject | undefined): StatusCause[] {
  if (!old || old.immutable !== true) return [];
  const causes: StatusCause[] = [];
  for (const field of ['data', 'binaryData'])
    if (JSON.stringify(old[field] ?? {}) !== JSON.stringify(obj[field] ?? {}))
      causes.push({ reason: 'FieldValueForbidden', field, message: 'Forbidden: field is immutable when `immutable` is set' });
  if (obj.immutable !== true)
    causes.push({ reason: 'FieldValueForbidden', field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' });
  return causes;
}

const RUN_STRATEGIES = ['Always', 'Halted', 'Manual', 'RerunOnFailure', 'Once', 'WaitAsReceiver'];

/** Disk ↔ volume and interface ↔ network references inside a VMI spec. */
function vmiSpecRules(spec: Record<string, unknown>, base: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const devices = asRecord(asRecord(spec.domain).devices);
  const volumes = new Set(asArray(spec.volumes).map((v) => str(asRecord(v).name)));
  const networks = new Set(asArray(spec.networks).map((n) => str(asRecord(n).name)));
  asArray(devices.disks).forEach((d, i) => {
    const name = str(asRecord(d).name);
    if (name !== undefined && !volumes.has(name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${base}.domain.devices.disks[${i}].name`,
        message: `Invalid value: "${name}": ${base}.domain.devices.disks[${i}].name '${name}' not found.`,
      });
    }
  });
  asArray(devices.interfaces).forEach((iface, i) => {
    const name = str(asRecord(iface).name);
    if (name !== undefined && !networks.has(name)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: `${base}.domain.devices.interfaces[${i}].name`,
        message: `Invalid value: "${name}": ${base}.domain.devices.interfaces[${i}].name '${name}' not found.`,
      });
    }
  });
  return causes;
}

function vmRules(obj: KubeObject): StatusCause[] {
  const spec = asRecord(obj.spec);
  const causes: StatusCause[] = [];
  if (spec.runStrategy !== undefined && !RUN_STRATEGIES.includes(String(spec.runStrategy)))
    causes.push(notSupported('spec.runStrategy', spec.runStrategy, RUN_STRATEGIES));
  if (spec.running !== undefined && spec.runStrategy !== undefined) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.running',
      message: 'Invalid value: "running": Running and RunStrategy are mutually exclusive',
    });
  }
  asArray(spec.dataVolumeTemplates).forEach((t, i) => {
    if (!str(asRecord(asRecord(t).metadata).name))
      causes.push({ reason: 'FieldValueRequired', field: `spec.dataVolumeTemplates[${i}].metadata.name`, message: 'Required value' });
  });
  causes.push(...vmiSpecRules(asRecord(asRecord(spec.template).spec), 'spec.template.spec'));
  return causes;
}

function dataVolumeRules(obj: KubeObject): StatusCause[] {
  const spec = asRecord(obj.spec);
  const causes: StatusCause[] = [];
  if ((spec.source === undefined) === (spec.sourceRef === undefined)) {
    causes.push({
      reason: 'FieldValueRequired',
      field: 'spec.source',
      message: 'Required value: exactly one of spec.source and spec.sourceRef must be set',
    });
  }
  if ((spec.pvc === undefined) === (spec.storage === undefined)) {
    causes.push({
      reason: 'FieldValueRequired',
      field: 'spec.storage',
      message: 'Required value: exactly one of spec.pvc and spec.storage must be set',
    });
  }
  return causes;
}

function migrationRules(obj: KubeObject): StatusCause[] {
  const spec = asRecord(obj.spec);
  return str(spec.vmiName) ? [] : [{ reason: 'FieldValueRequired', field: 'spec.vmiName', message: 'Required value' }];
}

const RULES: Record<string, Rule> = {
  'rolebindings.rbac.authorization.k8s.io': bindingRules,
  'clusterrolebindings.rbac.authorization.k8s.io': bindingRules,
  persistentvolumeclaims: pvcRules,
  secrets: secretRules,
  configmaps: secretRules,
  'virtualmachines.kubevirt.io': vmRules,
  'virtualmachineinstances.kubevirt.io': (obj) => vmiSpecRules(asRecord(obj.spec), 'spec'),
  'virtualmachineinstancemigrations.kubevirt.io': migrationRules,
  'datavolumes.cdi.kubevirt.io': dataVolumeRules,
  'leases.coordination.k8s.io': leaseRules,
};
