import type { V1Secret } from '@kubernetes/client-node';
import { parseKeySet, type StoredToolKeySet } from '../../domain/lti/tool-key-set.js';
import type { Clock } from '../../domain/shared/ids.js';
import { createToolKeys, type RotatingToolKeys, type ToolKeyStore, type ToolKeysDeps } from '../lti/tool-keys.js';
import type { KubeClient } from './kube-client.js';
import { listOptions } from './kube-reads.js';
import { withVersion } from './kube-writes.js';
import { cacheGroup, createResourceCache, lifecycleOf, type CacheOptions, type WatchedLifecycle } from './resource-cache.js';
import { LABEL_MANAGED_BY, MANAGED_BY, MANAGED_SELECTOR } from './tenant-objects.js';

/** The one Secret holding the tool's key pairs, in the control namespace. */
export const LTI_KEYS_SECRET = 'labplane-lti-keys';
export const LABEL_LTI_KEYS = 'labplane.io/lti-keys';
const KEYS_SELECTOR = `${MANAGED_SELECTOR},${LABEL_LTI_KEYS}=true`;
/** Key of the key set document (JSON, `{ keys: [...] }`) in the Secret's data. */
export const LTI_KEYS_DATA_KEY = 'keys.json';
/** Without a synced watch, the Secret is read again at most this often (ms). */
export const LTI_KEYS_REREAD_MS = 60_000;

export interface KubeLtiToolKeysDeps extends CacheOptions, Pick<ToolKeysDeps, 'graceMs' | 'newKey'> {
  readonly client: KubeClient;
  /** The control plane's own namespace (CONTROL_NAMESPACE). */
  readonly namespace: string;
  readonly clock: Clock;
}

/** The tool's keys in a Secret; `start` before serving, `close` on shutdown. */
export interface KubeLtiToolKeys extends RotatingToolKeys, WatchedLifecycle {}

export function ltiKeysSecretObject(set: StoredToolKeySet, namespace: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: LTI_KEYS_SECRET, namespace, labels: { [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_LTI_KEYS]: 'true' } },
    type: 'Opaque',
    data: { [LTI_KEYS_DATA_KEY]: Buffer.from(JSON.stringify(set), 'utf8').toString('base64') },
  };
}

/**
 * The tool's RS256 key pairs in ONE Secret `labplane-lti-keys` of the control namespace (created on
 * first use; two replicas racing: create → 409 → read). Reads come from a watch of that Secret, so
 * every replica sees a rotation as soon as the watch brings it (and relists about once a minute, in
 * case a watch went quiet); without a synced watch the Secret is read again at most once a minute. Parsed sets are kept per resourceVersion. Needs list/watch/create
 * on Secrets in that namespace and get/update on this one Secret; nothing private is ever logged.
 */
export function createKubeLtiToolKeys(deps: KubeLtiToolKeysDeps): KubeLtiToolKeys {
  const { client, namespace } = deps;
  const { core } = client;
  const informer = createResourceCache<V1Secret>({
    client,
    name: 'lti tool keys',
    kind: 'Secret',
    path: `/api/v1/namespaces/${namespace}/secrets`,
    labelSelector: KEYS_SELECTOR,
    // A watch that went quiet without failing still converges: relisted about once a minute.
    resyncMs: LTI_KEYS_REREAD_MS,
    api: {
      list: (q) => core.listNamespacedSecret({ namespace, ...listOptions(q) }),
      read: (_, name) => core.readNamespacedSecret({ namespace, name }),
    },
    ...(deps.watchRestartDelayMs === undefined ? {} : { restartDelayMs: deps.watchRestartDelayMs }),
  });
  const group = cacheGroup(client.logger, [informer]);
  let parsed: { version: string; set: StoredToolKeySet } | undefined;
  let directReadAt = -Infinity;

  function parse(s: V1Secret | undefined): { set: StoredToolKeySet; version: string } | undefined {
    if (s === undefined) return undefined;
    const version = s.metadata?.resourceVersion ?? '';
    if (parsed?.version === version) return parsed;
    const encoded = s.data?.[LTI_KEYS_DATA_KEY];
    const set = encoded === undefined ? undefined : parseKeySet(Buffer.from(encoded, 'base64').toString('utf8'));
    if (set === undefined) {
      // Never the content: it holds private keys.
      client.logger.error({ secret: `${namespace}/${LTI_KEYS_SECRET}` }, 'the LTI tool key Secret does not hold a key set; it is replaced');
      return undefined;
    }
    parsed = { version, set };
    return parsed;
  }

  async function fresh(): Promise<V1Secret | undefined> {
    directReadAt = deps.clock.now().getTime();
    return informer.fresh(namespace, LTI_KEYS_SECRET);
  }

  const store: ToolKeyStore = {
    async read(again) {
      let s: V1Secret | undefined;
      if (again) s = await fresh();
      else if (informer.synced()) s = informer.peek(namespace, LTI_KEYS_SECRET);
      else if (parsed !== undefined && deps.clock.now().getTime() - directReadAt < LTI_KEYS_REREAD_MS) return parsed;
      else s = await fresh();
      const out = parse(s);
      // A Secret that is there but unreadable is replaced by a rotation (create would meet 409).
      if (out === undefined && s !== undefined) return { set: { keys: [] }, version: s.metadata?.resourceVersion ?? '' };
      return out;
    },
    async create(set) {
      const body = ltiKeysSecretObject(set, namespace);
      const created = await client.request({ what: `create Secret ${namespace}/${LTI_KEYS_SECRET}`, write: true }, () =>
        core.createNamespacedSecret({ namespace, body }),
      );
      informer.remember(created);
      parse(created);
    },
    async replace(set, version) {
      const body = withVersion(ltiKeysSecretObject(set, namespace), version);
      const written = await client.request({ what: `replace Secret ${namespace}/${LTI_KEYS_SECRET}`, write: true }, () =>
        core.replaceNamespacedSecret({ namespace, name: LTI_KEYS_SECRET, body }),
      );
      informer.remember(written);
      parse(written);
    },
  };

  const keys = createToolKeys({
    store,
    clock: deps.clock,
    ...(deps.graceMs === undefined ? {} : { graceMs: deps.graceMs }),
    ...(deps.newKey === undefined ? {} : { newKey: deps.newKey }),
  });
  return { ...keys, ...lifecycleOf(group, deps) };
}
