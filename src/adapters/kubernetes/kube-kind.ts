import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * A kind generated from the vendored schema (`generated/`), with the `metadata` of client-node's
 * `KubernetesObject`: the generic cache, store and writers are typed over it. Both are Kubernetes'
 * ObjectMeta; client-node types its timestamps as `Date` where custom objects carry JSON strings,
 * which is why readers of `creationTimestamp` accept either.
 */
export type KubeKind<T> = Omit<T, 'apiVersion' | 'kind' | 'metadata'> & KubernetesObject;
