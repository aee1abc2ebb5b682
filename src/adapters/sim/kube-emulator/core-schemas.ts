/**
 * Compact strict JSON Schemas for the core kinds the emulator serves. The upstream schema files only
 * hold KubeVirt/CDI types and the core types they embed, so these are written by hand: enough to
 * catch typos (unknown fields are rejected) and wrong types. Shared types (ObjectMeta, LabelSelector,
 * PersistentVolumeClaimSpec) are referenced from the KubeVirt document.
 */
type Schema = Record<string, unknown>;

const kv = (definition: string): Schema => ({ $ref: `kubevirt#/definitions/${definition}` });
const META = kv('k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta');
const LABEL_SELECTOR = kv('k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector');
const PVC_SPEC = kv('k8s.io.api.core.v1.PersistentVolumeClaimSpec');

const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };
const int32: Schema = { type: 'integer', format: 'int32' };
const time: Schema = { type: 'string', format: 'date-time' };
const quantity: Schema = { type: ['string', 'number'], format: 'quantity' };
const intOrString: Schema = { type: ['string', 'integer'] };
const cidr: Schema = { type: 'string', format: 'cidr' };
const freeForm: Schema = { type: 'object' };

function obj(properties: Record<string, Schema>, required?: string[]): Schema {
  const s: Schema = { type: 'object', properties, additionalProperties: false };
  if (required) s.required = required;
  return s;
}
const arr = (items: Schema): Schema => ({ type: 'array', items });
const map = (values: Schema): Schema => ({ type: 'object', additionalProperties: values });
const oneOf = (...values: string[]): Schema => ({ type: 'string', enum: values });

/** A top-level kind: apiVersion, kind, metadata plus the given fields. */
function kind(fields: Record<string, Schema>, required?: string[]): Schema {
  return obj({ apiVersion: str, kind: str, metadata: META, ...fields }, required);
}

const CONDITION = obj({
  type: str,
  status: str,
  reason: str,
  message: str,
  lastTransitionTime: time,
  lastProbeTime: time,
  lastHeartbeatTime: time,
  observedGeneration: { type: 'integer' },
});

const PEER = obj({
  podSelector: LABEL_SELECTOR,
  namespaceSelector: LABEL_SELECTOR,
  ipBlock: obj({ cidr, except: arr(cidr) }, ['cidr']),
});
const PORT = obj({ protocol: oneOf('TCP', 'UDP', 'SCTP'), port: intOrString, endPort: int32 });

const POLICY_RULE = obj({ apiGroups: arr(str), resources: arr(str), verbs: arr(str), resourceNames: arr(str), nonResourceURLs: arr(str) }, ['verbs']);
const SUBJECT = obj({ kind: oneOf('User', 'Group', 'ServiceAccount'), apiGroup: str, name: str, namespace: str }, ['kind', 'name']);
const ROLE_REF = obj({ apiGroup: str, kind: oneOf('Role', 'ClusterRole'), name: str }, ['apiGroup', 'kind', 'name']);

const CONFIG_KEY = { pattern: '^[-._a-zA-Z0-9]+$' };
const QUOTA_SCOPES = oneOf(
  'Terminating',
  'NotTerminating',
  'BestEffort',
  'NotBestEffort',
  'PriorityClass',
  'CrossNamespacePodAffinity',
  'VolumeAttributesClass',
);

const TAINT = obj({ key: str, value: str, effect: oneOf('NoSchedule', 'PreferNoSchedule', 'NoExecute'), timeAdded: time }, ['key', 'effect']);

/** Definitions keyed by kind, to be registered with ajv under the id `core`. */
export function coreSchemaDocument(): { definitions: Record<string, Schema> } {
  return {
    definitions: {
      Namespace: kind({
        spec: obj({ finalizers: arr(str) }),
        status: obj({ phase: oneOf('Active', 'Terminating'), conditions: arr(CONDITION) }),
      }),
      ResourceQuota: kind({
        spec: obj({
          hard: map(quantity),
          scopes: arr(QUOTA_SCOPES),
          scopeSelector: obj({
            matchExpressions: arr(
              obj({ scopeName: QUOTA_SCOPES, operator: oneOf('In', 'NotIn', 'Exists', 'DoesNotExist'), values: arr(str) }, ['scopeName', 'operator']),
            ),
          }),
        }),
        status: obj({ hard: map(quantity), used: map(quantity) }),
      }),
      LimitRange: kind(
        {
          spec: obj(
            {
              limits: arr(
                obj(
                  {
                    type: oneOf('Pod', 'Container', 'PersistentVolumeClaim'),
                    max: map(quantity),
                    min: map(quantity),
                    default: map(quantity),
                    defaultRequest: map(quantity),
                    maxLimitRequestRatio: map(quantity),
                  },
                  ['type'],
                ),
              ),
            },
            ['limits'],
          ),
        },
        ['spec'],
      ),
      Secret: kind({
        type: str,
        immutable: bool,
        data: { type: 'object', propertyNames: CONFIG_KEY, additionalProperties: { type: 'string', format: 'byte' } },
        stringData: { type: 'object', propertyNames: CONFIG_KEY, additionalProperties: str },
      }),
      ConfigMap: kind({
        immutable: bool,
        data: { type: 'object', propertyNames: CONFIG_KEY, additionalProperties: str },
        binaryData: { type: 'object', propertyNames: CONFIG_KEY, additionalProperties: { type: 'string', format: 'byte' } },
      }),
      PersistentVolumeClaim: kind(
        {
          spec: PVC_SPEC,
          status: obj({
            phase: oneOf('Pending', 'Bound', 'Lost'),
            accessModes: arr(str),
            capacity: map(quantity),
            conditions: arr(CONDITION),
            allocatedResources: map(quantity),
            allocatedResourceStatuses: map(str),
            currentVolumeAttributesClassName: str,
            modifyVolumeStatus: freeForm,
          }),
        },
        ['spec'],
      ),
      NetworkPolicy: kind(
        {
          spec: obj(
            {
              podSelector: LABEL_SELECTOR,
              policyTypes: arr(oneOf('Ingress', 'Egress')),
              ingress: arr(obj({ from: arr(PEER), ports: arr(PORT) })),
              egress: arr(obj({ to: arr(PEER), ports: arr(PORT) })),
            },
            ['podSelector'],
          ),
        },
        ['spec'],
      ),
      Role: kind({ rules: arr(POLICY_RULE) }),
      ClusterRole: kind({ rules: arr(POLICY_RULE), aggregationRule: obj({ clusterRoleSelectors: arr(LABEL_SELECTOR) }) }),
      RoleBinding: kind({ subjects: arr(SUBJECT), roleRef: ROLE_REF }, ['roleRef']),
      ClusterRoleBinding: kind({ subjects: arr(SUBJECT), roleRef: ROLE_REF }, ['roleRef']),
      Node: kind({
        spec: obj({
          podCIDR: str,
          podCIDRs: arr(str),
          providerID: str,
          taints: arr(TAINT),
          unschedulable: bool,
          configSource: freeForm,
          externalID: str,
        }),
        status: obj({
          capacity: map(quantity),
          allocatable: map(quantity),
          phase: str,
          conditions: arr(CONDITION),
          addresses: arr(obj({ type: str, address: str }, ['type', 'address'])),
          daemonEndpoints: freeForm,
          nodeInfo: freeForm,
          images: arr(freeForm),
          volumesInUse: arr(str),
          volumesAttached: arr(freeForm),
          config: freeForm,
          runtimeHandlers: arr(freeForm),
          features: freeForm,
        }),
      }),
      Pod: kind({ spec: freeForm, status: freeForm }),
      // acquireTime/renewTime are MicroTime: their format is checked when decoding (lease-rules.ts).
      Lease: kind({
        spec: obj({
          acquireTime: str,
          holderIdentity: str,
          leaseDurationSeconds: int32,
          leaseTransitions: int32,
          preferredHolder: str,
          renewTime: str,
          strategy: str,
        }),
      }),
    },
  };
}
