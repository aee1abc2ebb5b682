import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { LabRecord, LabSpec, LabStoredStatus } from '../../domain/labs/lab.js';
import { LABEL_MANAGED_BY, LABEL_TENANT, MANAGED_BY } from './tenant-objects.js';

export const LABS_GROUP = 'labplane.io';
export const LABS_VERSION = 'v1alpha1';
export const LABS = 'labs';
export const LABS_PATH = `/apis/${LABS_GROUP}/${LABS_VERSION}/${LABS}`;
/**
 * Roster size, for the `Students` printer column of `kubectl get labs` (JSONPath cannot count a
 * list). Informational only: it is rewritten on every spec write through the API and never read.
 */
export const ANN_STUDENT_COUNT = 'labplane.io/student-count';

/** The spec of a Lab object: a LabSpec without `tenant` (the namespace) and `name` (metadata.name). */
export type LabObjectSpec = Omit<LabSpec, 'tenant' | 'name'>;

/** A `labs.labplane.io/v1alpha1` object (see deploy/crds/labs.labplane.io.yaml). */
export interface LabObject extends KubernetesObject {
  spec?: LabObjectSpec;
  status?: Partial<LabStoredStatus>;
}

/** `group`, `version`, `plural` and `namespace` of the custom-objects API calls. */
export const labApi = (namespace: string) => ({ group: LABS_GROUP, version: LABS_VERSION, plural: LABS, namespace });

/** The spec part of a LabSpec as stored (optional fields absent, never undefined). */
export function labObjectSpec(spec: LabSpec): LabObjectSpec {
  const { tenant: _tenant, name: _name, ...rest } = spec;
  return JSON.parse(JSON.stringify(rest)) as LabObjectSpec;
}

/**
 * The Lab object for `spec` in namespace `tenant`. `base` (the stored object, for a replace) keeps
 * its metadata, labels and annotations (GitOps tools may own some); a new object is labelled as ours.
 */
export function labObject(tenant: string, name: string, spec: LabSpec, base?: LabObject): LabObject {
  const meta = base?.metadata ?? { labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_TENANT]: tenant } };
  return {
    apiVersion: `${LABS_GROUP}/${LABS_VERSION}`,
    kind: 'Lab',
    metadata: {
      ...meta,
      name,
      namespace: tenant,
      annotations: { ...meta.annotations, [ANN_STUDENT_COUNT]: String(spec.students.length) },
    },
    spec: labObjectSpec(spec),
  };
}

/** True when writing `spec` over `current` would change nothing (spec and student count). */
export function sameSpec(current: LabObject, spec: LabSpec): boolean {
  return isDeepStrictEqual(current.spec, labObjectSpec(spec)) && current.metadata?.annotations?.[ANN_STUDENT_COUNT] === String(spec.students.length);
}

/** The stored status; an object whose status was never written has no failures. */
export function labStatusOf(obj: LabObject): LabStoredStatus {
  return { ...obj.status, failures: obj.status?.failures ?? {} };
}

function timestamp(v: unknown): string {
  const d = v instanceof Date ? v : new Date(typeof v === 'string' ? v : 0);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

/**
 * The lab an object describes: the tenant is its namespace, the name its metadata.name. The spec is
 * taken as stored (the CRD schema has checked it and filled in its defaults); lists an older object
 * may lack read as empty.
 */
export function labRecordOf(obj: LabObject): LabRecord {
  const meta = obj.metadata ?? {};
  const spec = (obj.spec ?? {}) as Partial<LabObjectSpec>;
  return {
    ...(spec as LabObjectSpec),
    instructors: spec.instructors ?? [],
    students: spec.students ?? [],
    schedules: spec.schedules ?? [],
    tenant: meta.namespace ?? '',
    name: meta.name ?? '',
    uid: meta.uid ?? '',
    createdAt: timestamp(meta.creationTimestamp),
    version: meta.resourceVersion ?? '',
    generation: meta.generation ?? 1,
    deleting: meta.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    status: labStatusOf(obj),
  };
}
