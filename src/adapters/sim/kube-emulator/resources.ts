/**
 * Where the strict schema of a resource lives: a definition of one of the loaded schema documents
 * (`crd`: the CustomResourceDefinitions of `deploy/crds`, keyed by CRD name).
 */
export interface SchemaRef {
  doc: 'kubevirt' | 'cdi' | 'core' | 'crd';
  definition: string;
}

/** A resource type served by the emulator, with the REST semantics a real API server gives it. */
export interface ResourceDef {
  /** Store key: the plural for core, `plural.group` otherwise (e.g. `virtualmachines.kubevirt.io`). */
  key: string;
  /** API group, `''` for core. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  /** `/status` subresource: main-resource writes keep the old status, status writes keep the rest. */
  statusSubresource: boolean;
  /** Built into Kubernetes (not a CRD): lists omit items' apiVersion/kind; missing apiVersion/kind are defaulted. */
  builtin: boolean;
  /** `metadata.generation` is maintained. */
  hasGeneration: boolean;
  /** Only get/list/watch over HTTP. */
  readOnly: boolean;
  /** DELETE answers the object (true) or a `Status` Success (false). */
  returnDeletedObject: boolean;
  /** Validation applied to `metadata.name`. */
  nameRule: 'label' | 'subdomain' | 'path';
  schema: SchemaRef;
}

/** `apiVersion` of a resource, e.g. `v1` or `kubevirt.io/v1`. */
export function apiVersionOf(def: ResourceDef): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

interface DefInput {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced?: boolean;
  shortNames?: string[];
  status?: boolean;
  builtin?: boolean;
  generation?: boolean;
  readOnly?: boolean;
  returnObject?: boolean;
  nameRule?: ResourceDef['nameRule'];
  schema: SchemaRef;
}

function def(i: DefInput): ResourceDef {
  const builtin = i.builtin ?? true;
  return {
    key: i.group ? `${i.plural}.${i.group}` : i.plural,
    group: i.group,
    version: i.version,
    plural: i.plural,
    singular: i.kind.toLowerCase(),
    kind: i.kind,
    namespaced: i.namespaced ?? true,
    shortNames: i.shortNames ?? [],
    statusSubresource: i.status ?? false,
    builtin,
    hasGeneration: i.generation ?? !builtin,
    readOnly: i.readOnly ?? false,
    returnDeletedObject: i.returnObject ?? !builtin,
    nameRule: i.nameRule ?? 'subdomain',
    schema: i.schema,
  };
}

const core = (definition: string): SchemaRef => ({ doc: 'core', definition });
const RBAC = 'rbac.authorization.k8s.io';

/** Every resource the emulator serves. */
export const RESOURCES: readonly ResourceDef[] = [
  def({
    group: '',
    version: 'v1',
    plural: 'namespaces',
    kind: 'Namespace',
    namespaced: false,
    shortNames: ['ns'],
    status: true,
    returnObject: true,
    nameRule: 'label',
    schema: core('Namespace'),
  }),
  def({ group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], status: true, schema: core('Node') }),
  def({
    group: '',
    version: 'v1',
    plural: 'resourcequotas',
    kind: 'ResourceQuota',
    shortNames: ['quota'],
    status: true,
    schema: core('ResourceQuota'),
  }),
  def({ group: '', version: 'v1', plural: 'limitranges', kind: 'LimitRange', shortNames: ['limits'], schema: core('LimitRange') }),
  def({ group: '', version: 'v1', plural: 'secrets', kind: 'Secret', schema: core('Secret') }),
  def({ group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'], schema: core('ConfigMap') }),
  def({
    group: '',
    version: 'v1',
    plural: 'persistentvolumeclaims',
    kind: 'PersistentVolumeClaim',
    shortNames: ['pvc'],
    status: true,
    returnObject: true,
    schema: core('PersistentVolumeClaim'),
  }),
  def({
    group: '',
    version: 'v1',
    plural: 'pods',
    kind: 'Pod',
    shortNames: ['po'],
    status: true,
    readOnly: true,
    returnObject: true,
    schema: core('Pod'),
  }),
  def({
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    kind: 'NetworkPolicy',
    shortNames: ['netpol'],
    generation: true,
    schema: core('NetworkPolicy'),
  }),
  def({ group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', schema: core('Lease') }),
  def({ group: RBAC, version: 'v1', plural: 'roles', kind: 'Role', nameRule: 'path', schema: core('Role') }),
  def({ group: RBAC, version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', nameRule: 'path', schema: core('RoleBinding') }),
  def({ group: RBAC, version: 'v1', plural: 'clusterroles', kind: 'ClusterRole', namespaced: false, nameRule: 'path', schema: core('ClusterRole') }),
  def({
    group: RBAC,
    version: 'v1',
    plural: 'clusterrolebindings',
    kind: 'ClusterRoleBinding',
    namespaced: false,
    nameRule: 'path',
    schema: core('ClusterRoleBinding'),
  }),
  def({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachines',
    kind: 'VirtualMachine',
    shortNames: ['vm', 'vms'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1.VirtualMachine' },
  }),
  def({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstances',
    kind: 'VirtualMachineInstance',
    shortNames: ['vmi', 'vmis'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1.VirtualMachineInstance' },
  }),
  def({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'virtualmachineinstancemigrations',
    kind: 'VirtualMachineInstanceMigration',
    shortNames: ['vmim', 'vmims'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1.VirtualMachineInstanceMigration' },
  }),
  def({
    group: 'kubevirt.io',
    version: 'v1',
    plural: 'kubevirts',
    kind: 'KubeVirt',
    shortNames: ['kv', 'kvs'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1.KubeVirt' },
  }),
  def({
    group: 'snapshot.kubevirt.io',
    version: 'v1beta1',
    plural: 'virtualmachinesnapshots',
    kind: 'VirtualMachineSnapshot',
    shortNames: ['vmsnapshot', 'vmsnapshots'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1beta1.VirtualMachineSnapshot' },
  }),
  def({
    group: 'snapshot.kubevirt.io',
    version: 'v1beta1',
    plural: 'virtualmachinesnapshotcontents',
    kind: 'VirtualMachineSnapshotContent',
    shortNames: ['vmsnapshotcontent', 'vmsnapshotcontents'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1beta1.VirtualMachineSnapshotContent' },
  }),
  def({
    group: 'snapshot.kubevirt.io',
    version: 'v1beta1',
    plural: 'virtualmachinerestores',
    kind: 'VirtualMachineRestore',
    shortNames: ['vmrestore', 'vmrestores'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1beta1.VirtualMachineRestore' },
  }),
  def({
    group: 'clone.kubevirt.io',
    version: 'v1beta1',
    plural: 'virtualmachineclones',
    kind: 'VirtualMachineClone',
    shortNames: ['vmclone', 'vmclones'],
    status: true,
    builtin: false,
    schema: { doc: 'kubevirt', definition: 'v1beta1.VirtualMachineClone' },
  }),
  def({
    group: 'cdi.kubevirt.io',
    version: 'v1beta1',
    plural: 'datavolumes',
    kind: 'DataVolume',
    shortNames: ['dv', 'dvs'],
    status: true,
    builtin: false,
    schema: { doc: 'cdi', definition: 'v1beta1.DataVolume' },
  }),
  def({
    group: 'labplane.io',
    version: 'v1alpha1',
    plural: 'labs',
    kind: 'Lab',
    status: true,
    builtin: false,
    schema: { doc: 'crd', definition: 'labs.labplane.io' },
  }),
];

const byPath = new Map<string, ResourceDef>(RESOURCES.map((d) => [`${d.group}/${d.version}/${d.plural}`, d]));
const byKey = new Map<string, ResourceDef>(RESOURCES.map((d) => [d.key, d]));

/** Finds a resource by the group/version/plural of its URL. */
export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return byPath.get(`${group}/${version}/${plural}`);
}

/** Finds a resource by store key (`secrets`, `virtualmachines.kubevirt.io`); throws for unknown keys. */
export function resourceByKey(key: string): ResourceDef {
  const found = byKey.get(key);
  if (!found) throw new Error(`unknown resource "${key}"`);
  return found;
}

/** Which resources an emulator serves now (a CRD not installed yet is not). */
export type ServedFilter = (def: ResourceDef) => boolean;

/** Group versions served, in discovery order (core excluded). */
export function servedGroupVersions(served: ServedFilter = () => true): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const d of RESOURCES) {
    if (!served(d)) continue;
    if (d.group && !seen.has(d.group)) seen.set(d.group, { group: d.group, version: d.version });
  }
  return [...seen.values()];
}

/** The object with `apiVersion` and `kind` of its resource (first, as a real server renders them). */
export function withTypeMeta<T extends { metadata: unknown }>(def: ResourceDef, obj: T): T & { apiVersion: string; kind: string } {
  const typeMeta = { apiVersion: apiVersionOf(def), kind: def.kind };
  return Object.assign({ ...typeMeta }, obj, typeMeta);
}
