import type { V1Secret } from '@kubernetes/client-node';
import { isConflict, isNotFound } from './errors.js';
import { listAllPages, listOptions } from './kube-reads.js';
import type { KubeClient } from './kube-client.js';
import { LABEL_TENANT } from './tenant-objects.js';
import { WEBHOOK_SELECTOR } from './webhook-objects.js';

/** What {@link migrateWebhookSecrets} did. */
export interface WebhookMigrationReport {
  /** `namespace/name` of the first-wave Secrets found outside the control namespace. */
  readonly found: readonly string[];
  /** How many were copied now (the others were copied by an earlier run). */
  readonly copied: number;
  /** How many originals were deleted (only with `deleteOriginals`). */
  readonly deleted: number;
}

const DROPPED_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

/**
 * One-off move of first-wave webhook Secrets (kept in each tenant's namespace) into the control
 * namespace, labelled with their tenant, so the control plane can read them under its current RBAC.
 * Runs with an administrator's credentials (`scripts/migrate-webhook-secrets.ts`): the control
 * plane itself may no longer read tenant Secrets. Idempotent: a copy that exists is kept; originals
 * are deleted only when asked, each guarded by its uid.
 */
export async function migrateWebhookSecrets(
  client: KubeClient,
  controlNamespace: string,
  opts: { readonly deleteOriginals: boolean },
): Promise<WebhookMigrationReport> {
  const { items } = await listAllPages<V1Secret>(client, 'list webhook Secrets in every namespace', (cont) =>
    client.core.listSecretForAllNamespaces(listOptions({ labelSelector: WEBHOOK_SELECTOR, ...(cont === undefined ? {} : { cont }) })),
  );
  const old = items.filter((s) => s.metadata?.namespace !== undefined && s.metadata.namespace !== controlNamespace);
  let copied = 0;
  let deleted = 0;
  for (const s of old) {
    const ns = s.metadata?.namespace ?? '';
    const name = s.metadata?.name ?? '';
    const annotations = Object.fromEntries(Object.entries(s.metadata?.annotations ?? {}).filter(([k]) => !DROPPED_ANNOTATIONS.includes(k)));
    const copy: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: controlNamespace,
        labels: { ...s.metadata?.labels, [LABEL_TENANT]: s.metadata?.labels?.[LABEL_TENANT] ?? ns },
        annotations,
      },
      type: s.type ?? 'Opaque',
      data: s.data ?? {},
    };
    try {
      await client.request({ what: `copy Secret ${ns}/${name}`, write: true }, () =>
        client.core.createNamespacedSecret({ namespace: controlNamespace, body: copy }),
      );
      copied += 1;
    } catch (err) {
      if (!isConflict(err, 'ALREADY_EXISTS')) throw err;
    }
    if (!opts.deleteOriginals) continue;
    try {
      const uid = s.metadata?.uid;
      await client.request({ what: `delete Secret ${ns}/${name}`, write: true }, () =>
        client.core.deleteNamespacedSecret({ namespace: ns, name, ...(uid === undefined ? {} : { body: { preconditions: { uid } } }) }),
      );
      deleted += 1;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return { found: old.map((s) => `${s.metadata?.namespace ?? ''}/${s.metadata?.name ?? ''}`), copied, deleted };
}
