import { setTimeout as sleep } from 'node:timers/promises';
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import { backoffMs } from '../../domain/shared/backoff.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
import type { KubeClient, KubeLogger } from './kube-client.js';
import { listAllPages, listOptions, orUndefined, type ListQuery } from './kube-reads.js';
import { ObjectStore, type Indexer, type StoreChange } from './object-store.js';

/** How to list and read one kind through the typed or the custom-objects client. */
export interface ResourceApi {
  /** One page of a list (answer of either client; see `asPage`). */
  list(q: ListQuery): Promise<unknown>;
  /** One object; `namespace` is '' for cluster-scoped kinds. */
  read(namespace: string, name: string): Promise<unknown>;
}

/** A custom resource (CRD) through the custom-objects client. */
export function customResource(client: KubeClient, group: string, version: string, plural: string): ResourceApi {
  const { custom } = client;
  return {
    list: (q) =>
      q.namespace === undefined
        ? custom.listClusterCustomObject({ group, version, plural, ...listOptions(q) })
        : custom.listNamespacedCustomObject({ group, version, plural, namespace: q.namespace, ...listOptions(q) }),
    read: (namespace, name) => custom.getNamespacedCustomObject({ group, version, plural, namespace, name }),
  };
}

/** Back-off bounds between restarts of a failed list or watch, in ms (jittered; default 250 .. 30 000). */
export interface RestartDelay {
  readonly min: number;
  readonly max: number;
}

export interface ResourceCacheOptions<T extends KubernetesObject> {
  readonly client: KubeClient;
  /** For logs and readiness: `namespaces`, `labs`, ... */
  readonly name: string;
  /** Kind for messages of direct reads: `Lab`, `Namespace`, ... */
  readonly kind: string;
  /** Collection path the watch is opened on, e.g. `/api/v1/namespaces`. */
  readonly path: string;
  readonly api: ResourceApi;
  /** Omitted: every object of the kind. */
  readonly labelSelector?: string;
  /** Resource named by a 404 of a direct read (error translation), e.g. `lab`. */
  readonly resource?: string;
  /** Direct reads answer undefined for an object the selector does not match, as cached reads do. */
  readonly readsMatchSelector?: boolean;
  /** Extra indexes (the namespace index is built in): name → values an object is filed under. */
  readonly indexers?: Readonly<Record<string, Indexer<T>>>;
  readonly restartDelayMs?: RestartDelay;
  /** Relist this often (±25% jitter) even when the watch is healthy; default never. */
  readonly resyncMs?: number;
  /** [0, 1) source of the jitter; Math.random by default. */
  readonly random?: () => number;
}

/** How one informer is doing, for readiness. */
export interface InformerHealth {
  /** For messages: `namespaces`, `labs`, ... */
  readonly name: string;
  /** A list succeeded at least once (stays true across relists). */
  readonly synced: boolean;
  /** When the current trouble began: start-up while never synced, else the first failure since the last good list or watch. */
  readonly since: Date | undefined;
  /** The last list or watch failure, when failing now. */
  readonly lastError: string | undefined;
  /** Set when the last failure was `CRD_NOT_INSTALLED`: the CRD the API server does not serve. */
  readonly missingCrd: string | undefined;
}

export type CacheListener<T> = (type: StoreChange<T>['type'], obj: T) => void;

/**
 * A watch-backed copy of one kind of object (list + watch, relist after 410 Gone or a failure), and the
 * reads served from it: from the copy once synced (no API request), from the API server before that.
 * Our own writes go in with `remember` / `forget` (read-your-writes). Listeners hear of each version
 * once, whichever path brought it (watch, relist, or our write).
 */
export interface ResourceCache<T extends KubernetesObject> {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  /** True once a list succeeded; stays true while the watch reconnects. */
  synced(): boolean;
  /** Resolves on the first successful list. */
  readonly whenSynced: Promise<void>;
  /** Resolves when a list fails because the resource is not served (its CRD is missing). */
  readonly whenNotServed: Promise<void>;
  health(): InformerHealth;
  /** From the copy once synced, else from the server (and remembered). */
  get(namespace: string, name: string): Promise<T | undefined>;
  /** Always from the server; the answer is remembered. */
  fresh(namespace: string, name: string): Promise<T | undefined>;
  /** Every object of one namespace, or of all; from the copy once synced, else listed from the server. */
  list(namespace?: string): Promise<T[]>;
  /** Lists from the server with another query (e.g. a narrower selector). */
  listDirect(q: Omit<ListQuery, 'cont'>): Promise<T[]>;
  /** What the copy holds now, without waiting. */
  peek(namespace: string, name: string): T | undefined;
  /** The held objects an indexer filed under `value`. */
  byIndex(index: string, value: string): T[];
  remember(obj: T): void;
  forget(obj: KubernetesObject): void;
  subscribe(listener: CacheListener<T>): () => void;
  /** Grows with every change the copy took: a cheap "did anything change". */
  version(): number;
}

function matches(selector: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  return selector.split(',').every((term) => {
    const [k = '', v] = term.split('=');
    return labels?.[k] === v;
  });
}

/** Ends a watch that reported it must relist. */
class Expired extends Error {}

/**
 * Own list + watch loop over client-node's `Watch` rather than its `ListWatch` informer: ListWatch keeps
 * a map of its own beside ours (every object twice), lists without paging, and reconnects on a fixed
 * 1..30 s doubling without jitter. Here the `ObjectStore` is the one copy, lists are paged through the
 * client (budget, timeouts, error translation), and every restart waits a jittered backoff.
 */
export function createResourceCache<T extends KubernetesObject>(opts: ResourceCacheOptions<T>): ResourceCache<T> {
  const { client, name, api, labelSelector } = opts;
  const { logger } = client;
  const store = new ObjectStore<T>(opts.indexers);
  const listeners = new Set<CacheListener<T>>();
  const restart = { baseMs: opts.restartDelayMs?.min ?? 250, maxMs: opts.restartDelayMs?.max ?? 30_000, jitter: 'equal' as const };
  const random = opts.random ?? Math.random;
  const watch = new Watch(client.kubeConfig);
  let changes = 0;
  let synced = false;
  let run: AbortController | undefined;
  let request: AbortController | undefined;
  let resourceVersion: string | undefined;
  let relistDue = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  let startedAt: Date | undefined;
  let failingSince: Date | undefined;
  let lastError: string | undefined;
  let missingCrd: string | undefined;
  let markSynced: () => void = () => undefined;
  const whenSynced = new Promise<void>((resolve) => (markSynced = resolve));
  let markNotServed: () => void = () => undefined;
  const whenNotServed = new Promise<void>((resolve) => (markNotServed = resolve));

  /** Restarts in a row without a good list or a connected watch in between: the backoff's exponent. */
  let failures = 0;
  const healthy = (): void => {
    failures = 0;
    failingSince = undefined;
    lastError = undefined;
    missingCrd = undefined;
  };

  function tell(change: StoreChange<T> | undefined): void {
    if (change === undefined) return;
    changes += 1;
    for (const l of listeners) {
      try {
        l(change.type, change.obj);
      } catch (err) {
        logger.error({ informer: name, err: err instanceof Error ? err.message : String(err) }, 'a cache listener threw');
      }
    }
  }

  async function relist(): Promise<void> {
    const list = await listAllPages<T>(client, `list ${name}`, (cont) =>
      api.list({ ...(labelSelector === undefined ? {} : { labelSelector }), ...(cont === undefined ? {} : { cont }) }),
    );
    for (const change of store.replace(list.items, list.resourceVersion)) tell(change);
    resourceVersion = list.resourceVersion;
    healthy();
    if (!synced) {
      synced = true;
      markSynced();
    }
    logger.debug({ informer: name, items: list.items.length, resourceVersion: list.resourceVersion }, 'kubernetes informer listed');
    if (opts.resyncMs !== undefined) {
      clearTimeout(resyncTimer);
      resyncTimer = setTimeout(
        () => {
          relistDue = true;
          request?.abort();
        },
        opts.resyncMs * (0.75 + 0.5 * random()),
      );
      resyncTimer.unref();
    }
  }

  function apply(phase: string, obj: T): void {
    if (phase === 'ADDED' || phase === 'MODIFIED') tell(store.upsert(obj));
    else if (phase === 'DELETED') tell(store.remove(obj));
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '') resourceVersion = rv;
  }

  /** One watch from `resourceVersion`; resolves with how many events came when it ends cleanly. */
  function watchOnce(signal: AbortSignal): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let events = 0;
      let ended = false;
      let failure: Error | undefined;
      const params = {
        allowWatchBookmarks: true,
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
        ...(labelSelector === undefined ? {} : { labelSelector }),
      };
      const done = (err: unknown): void => {
        ended = true;
        request = undefined;
        if (signal.aborted || relistDue) resolve(events);
        else if (failure !== undefined) reject(failure);
        else if (err === null || err === undefined || (err instanceof Error && err.name === 'TimeoutError')) resolve(events);
        else if ((err as { statusCode?: number }).statusCode === 410) reject(new Expired('410 Gone'));
        else reject(err);
      };
      const onEvent = (phase: string, obj: unknown): void => {
        events += 1;
        if (phase === 'ERROR') {
          const status = obj as { code?: number; message?: string };
          failure =
            status.code === 410 ? new Expired(status.message ?? '410 Gone') : new Error(`watch error ${status.code ?? ''}: ${status.message ?? ''}`);
          request?.abort();
          return;
        }
        apply(phase, obj as T);
      };
      watch.watch(opts.path, params, onEvent, done).then(
        (controller) => {
          if (ended) return;
          request = controller;
          healthy();
          // Stopped, or a resync fell due, while the watch was connecting.
          if (signal.aborted || relistDue) controller.abort();
        },
        (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
      );
    });
  }

  function failed(err: unknown, delay: number): void {
    failingSince ??= new Date();
    lastError = err instanceof Error ? err.message : String(err);
    const wasMissing = missingCrd;
    missingCrd = err instanceof UpstreamUnavailableError && err.code === 'CRD_NOT_INSTALLED' ? String(err.details?.['crd'] ?? '') : undefined;
    if (missingCrd !== undefined) {
      markNotServed();
      // One line per outage, as a warning when the CRD went away under a synced informer (at
      // start-up the preflight already warned); then quiet retries until it is installed.
      if (wasMissing === missingCrd) logger.debug({ informer: name, crd: missingCrd, retryInMs: delay }, 'CRD still missing');
      else if (synced) logger.warn({ informer: name, crd: missingCrd }, `${lastError} Not ready until it is; retrying.`);
      else logger.info({ informer: name, crd: missingCrd }, `${lastError} Not ready until it is; retrying.`);
    } else {
      logger.warn({ informer: name, err: lastError, retryInMs: delay }, 'kubernetes watch failed; restarting it');
    }
  }

  async function loop(signal: AbortSignal): Promise<void> {
    let quiet = 0;
    const pause = (ms: number) => sleep(ms, undefined, { signal, ref: false }).catch(() => undefined);
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined || relistDue) {
          relistDue = false;
          await relist();
        }
        const events = await watchOnce(signal);
        // A watch the server ends at once and quietly must not become a busy loop.
        quiet = events === 0 ? quiet + 1 : 0;
        if (quiet > 0) await pause(backoffMs(quiet - 1, restart, random));
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof Expired) {
          resourceVersion = undefined;
          continue;
        }
        const delay = backoffMs(failures, restart, random);
        failures += 1;
        failed(err, delay);
        await pause(delay);
      }
    }
  }

  async function fresh(namespace: string, objName: string): Promise<T | undefined> {
    const at = namespace === '' ? objName : `${namespace}/${objName}`;
    const ctx = { what: `read ${opts.kind} ${at}`, write: false, ...(opts.resource === undefined ? {} : { resource: opts.resource, name: objName }) };
    const obj = (await orUndefined(client.request(ctx, () => api.read(namespace, objName)))) as T | undefined;
    if (obj === undefined) return undefined;
    if (opts.readsMatchSelector === true && labelSelector !== undefined && !matches(labelSelector, obj.metadata?.labels)) return undefined;
    tell(store.upsert(obj));
    return obj;
  }

  async function listDirect(q: Omit<ListQuery, 'cont'>): Promise<T[]> {
    const where = q.namespace === undefined ? 'all namespaces' : q.namespace;
    return (await listAllPages<T>(client, `list ${name} in ${where}`, (cont) => api.list({ ...q, ...(cont === undefined ? {} : { cont }) }))).items;
  }

  return {
    name,
    start() {
      if (run !== undefined) return;
      startedAt ??= new Date();
      run = new AbortController();
      void loop(run.signal);
    },
    async stop() {
      run?.abort();
      run = undefined;
      clearTimeout(resyncTimer);
      request?.abort();
      await Promise.resolve();
    },
    synced: () => synced,
    whenSynced,
    whenNotServed,
    health: () => ({ name, synced, since: synced ? failingSince : (failingSince ?? startedAt), lastError, missingCrd }),
    get: async (namespace, objName) => (synced ? store.get(objName, namespace) : fresh(namespace, objName)),
    fresh,
    async list(namespace) {
      if (synced) return store.list(namespace);
      return listDirect({ ...(namespace === undefined ? {} : { namespace }), ...(labelSelector === undefined ? {} : { labelSelector }) });
    },
    listDirect,
    peek: (namespace, objName) => store.get(objName, namespace),
    byIndex: (index, value) => store.byIndex(index, value),
    remember: (obj) => tell(store.upsert(obj)),
    forget: (obj) => tell(store.remove(obj)),
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    version: () => changes,
  };
}

/** Options of every watch-backed repository. */
export interface CacheOptions {
  /** How long `start` waits for the informers before reads go to the API server directly (default 10 000 ms). */
  readonly syncTimeoutMs?: number;
  /** Back-off between informer restarts after a failed list or watch (jittered; default 250 ms .. 30 s). */
  readonly watchRestartDelayMs?: RestartDelay;
}

/** The lifecycle of a watch-backed repository: `start` before serving, `close` on shutdown. */
export interface WatchedLifecycle {
  /** Starts the informers; resolves true once synced, false after `syncTimeoutMs` (reads then go direct until they sync). */
  start(): Promise<boolean>;
  /** Stops the informers; listeners hear nothing more. */
  close(): Promise<void>;
  /** True while reads are served from the watch-backed caches. */
  cacheSynced(): boolean;
  /** Each informer's state, for readiness. */
  informers(): readonly InformerHealth[];
}

/** The lifecycle of a repository whose reads come from `group`. */
export function lifecycleOf(group: CacheGroup, options: CacheOptions): WatchedLifecycle {
  return {
    start: () => group.start(options.syncTimeoutMs ?? 10_000),
    close: () => group.close(),
    cacheSynced: () => group.synced(),
    informers: () => group.informers(),
  };
}

/** Several caches started, read and stopped together (one repository's). */
export interface CacheGroup {
  /** Starts every cache; resolves true once all listed, false after `timeoutMs` (reads go direct until then). */
  start(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
  synced(): boolean;
  /** Each informer's state, for readiness. */
  informers(): readonly InformerHealth[];
}

/**
 * Waits until every cache listed ('synced'), one found its resource not served ('not-served': no use
 * waiting for a CRD that is missing), or `timeoutMs` passed ('timeout'). The timer does not hold the
 * process open.
 */
export async function waitForSync(
  caches: ReadonlyArray<Pick<ResourceCache<KubernetesObject>, 'whenSynced' | 'whenNotServed'>>,
  timeoutMs: number,
): Promise<'synced' | 'not-served' | 'timeout'> {
  return Promise.race([
    Promise.all(caches.map((s) => s.whenSynced)).then(() => 'synced' as const),
    Promise.race(caches.map((s) => s.whenNotServed)).then(() => 'not-served' as const),
    sleep(timeoutMs, 'timeout' as const, { ref: false }),
  ]);
}

export function cacheGroup(logger: KubeLogger, caches: ReadonlyArray<ResourceCache<KubernetesObject>>): CacheGroup {
  return {
    async start(timeoutMs) {
      for (const c of caches) c.start();
      const outcome = await waitForSync(caches, timeoutMs);
      if (outcome === 'timeout') {
        const names = caches.map((c) => c.name).join(', ');
        logger.warn(
          { timeoutMs, informers: names },
          `kubernetes informers (${names}) did not sync in time; reading from the API server until they do`,
        );
      }
      return outcome === 'synced';
    },
    async close() {
      await Promise.all(caches.map((c) => c.stop()));
    },
    synced: () => caches.every((c) => c.synced()),
    informers: () => caches.map((c) => c.health()),
  };
}
