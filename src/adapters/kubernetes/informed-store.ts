import {
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ListMeta,
} from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { ObjectStore } from './object-store.js';

/** One page of a list, as the typed client returns it. */
export interface ListPage<T> {
  readonly items: T[];
  readonly metadata?: V1ListMeta;
}

export interface InformedStoreOptions<T extends KubernetesObject> {
  readonly client: KubeClient;
  /** For logs: `namespaces`, `resourcequotas`, ... */
  readonly name: string;
  /** Watch path, e.g. `/api/v1/namespaces`. */
  readonly path: string;
  /** Omitted: every object of the kind. */
  readonly labelSelector?: string;
  /** Lists one page (the selector applied, a bounded `limit`), continuing from `cont` when given. */
  readonly listPage: (cont: string | undefined) => Promise<ListPage<T>>;
  /** Bounds of the back-off between restarts after a failed list or watch, in ms. */
  readonly restartDelayMs?: { readonly min: number; readonly max: number };
  /** Told of every change the watch (or a relist) delivers, after the store took it. Must not throw. */
  readonly onChange?: (type: 'add' | 'update' | 'delete', obj: T) => void;
}

/** A store kept current by list + watch, recovering from dropped watches and 410 Gone by relisting. */
export interface InformedStore<T extends KubernetesObject> {
  readonly store: ObjectStore<T>;
  /** True once a list succeeded; stays true while the watch reconnects. */
  synced(): boolean;
  /** Resolves on the first successful list. */
  readonly whenSynced: Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

export function createInformedStore<T extends KubernetesObject>(opts: InformedStoreOptions<T>): InformedStore<T> {
  const { client, name } = opts;
  const { logger } = client;
  const store = new ObjectStore<T>();
  const minDelay = opts.restartDelayMs?.min ?? 250;
  const maxDelay = opts.restartDelayMs?.max ?? 30_000;
  let synced = false;
  let stopped = true;
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => undefined;
  const whenSynced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  /** Pages through the whole list (client-node informers do not page), then resets the store to it. */
  async function listAll(): Promise<KubernetesListObject<T>> {
    const { items, resourceVersion: listVersion } = await listAllPages(client, `list ${name}`, opts.listPage);
    store.replace(items, listVersion);
    failures = 0;
    if (!synced) {
      synced = true;
      markSynced();
    }
    logger.debug({ informer: name, items: items.length, resourceVersion: listVersion }, 'kubernetes informer listed');
    return { metadata: { resourceVersion: listVersion ?? '' }, items };
  }

  const informer = makeInformer<T>(client.kubeConfig, opts.path, listAll, opts.labelSelector);
  const told = opts.onChange ?? (() => undefined);
  informer.on('add', (obj) => {
    store.upsert(obj);
    told('add', obj);
  });
  informer.on('update', (obj) => {
    store.upsert(obj);
    told('update', obj);
  });
  informer.on('delete', (obj) => {
    store.remove(obj);
    told('delete', obj);
  });
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    const delay = Math.min(maxDelay, minDelay * 2 ** failures);
    failures += 1;
    logger.warn(
      { informer: name, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'kubernetes watch failed; restarting it',
    );
    clearTimeout(restartTimer);
    restartTimer = setTimeout(run, delay);
    restartTimer.unref();
  });

  function run(): void {
    if (stopped) return;
    informer.start().catch((err: unknown) => {
      logger.error({ informer: name, err: err instanceof Error ? err.message : String(err) }, 'kubernetes informer did not start');
    });
  }

  return {
    store,
    synced: () => synced,
    whenSynced,
    start() {
      if (!stopped) return;
      stopped = false;
      run();
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      await informer.stop();
    },
  };
}

/**
 * Every item of a paged list, following `continue` tokens (reads through `client`, so timeouts and
 * error translation apply), with the resourceVersion of the first page.
 */
export async function listAllPages<T>(
  client: Pick<KubeClient, 'request'>,
  what: string,
  listPage: (cont: string | undefined) => Promise<ListPage<T>>,
): Promise<{ items: T[]; resourceVersion: string | undefined }> {
  const items: T[] = [];
  let cont: string | undefined;
  let resourceVersion: string | undefined;
  do {
    const page = await client.request({ what, write: false }, () => listPage(cont));
    items.push(...page.items);
    resourceVersion ??= page.metadata?.resourceVersion;
    cont = page.metadata?._continue === '' ? undefined : page.metadata?._continue;
  } while (cont !== undefined);
  return { items, resourceVersion };
}
