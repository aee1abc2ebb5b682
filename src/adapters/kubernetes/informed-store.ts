import {
  makeInformer,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ListMeta,
} from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
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

/** A store kept current by list + watch, recovering from dropped watches and 410 Gone by relisting. */
export interface InformedStore<T extends KubernetesObject> {
  readonly store: ObjectStore<T>;
  /** True once a list succeeded; stays true while the watch reconnects. */
  synced(): boolean;
  /** Resolves on the first successful list. */
  readonly whenSynced: Promise<void>;
  /** Resolves when the first list fails because the resource is not served (its CRD is missing). */
  readonly whenNotServed: Promise<void>;
  health(): InformerHealth;
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
  let markNotServed: () => void = () => undefined;
  const whenNotServed = new Promise<void>((resolve) => {
    markNotServed = resolve;
  });
  let errors = 0;
  let startedAt: Date | undefined;
  let failingSince: Date | undefined;
  let lastError: string | undefined;
  let missingCrd: string | undefined;
  const healthy = (): void => {
    failingSince = undefined;
    lastError = undefined;
    missingCrd = undefined;
  };

  /** Pages through the whole list (client-node informers do not page), then resets the store to it. */
  async function listAll(): Promise<KubernetesListObject<T>> {
    const { items, resourceVersion: listVersion } = await listAllPages(client, `list ${name}`, opts.listPage);
    store.replace(items, listVersion);
    failures = 0;
    healthy();
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
    errors += 1;
    failingSince ??= new Date();
    lastError = err instanceof Error ? err.message : String(err);
    const wasMissing = missingCrd;
    missingCrd = err instanceof UpstreamUnavailableError && err.code === 'CRD_NOT_INSTALLED' ? String(err.details?.['crd'] ?? '') : undefined;
    const delay = Math.min(maxDelay, minDelay * 2 ** failures);
    failures += 1;
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
    clearTimeout(restartTimer);
    restartTimer = setTimeout(run, delay);
    restartTimer.unref();
  });

  function run(): void {
    if (stopped) return;
    const before = errors;
    // start() resolves once the list (if needed) succeeded and the watch is connected: healthy again.
    informer.start().then(() => {
      if (errors === before) healthy();
    }, (err: unknown) => {
      logger.error({ informer: name, err: err instanceof Error ? err.message : String(err) }, 'kubernetes informer did not start');
    });
  }

  return {
    store,
    synced: () => synced,
    whenSynced,
    whenNotServed,
    health: () => ({ name, synced, since: synced ? failingSince : (failingSince ?? startedAt), lastError, missingCrd }),
    start() {
      if (!stopped) return;
      stopped = false;
      startedAt ??= new Date();
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
 * Waits until every store listed ('synced'), one of them found its resource not served
 * ('not-served': no use waiting for a CRD that is missing), or `timeoutMs` passed ('timeout').
 * The timer does not hold the process open.
 */
export async function waitForSync(
  stores: ReadonlyArray<Pick<InformedStore<KubernetesObject>, 'whenSynced' | 'whenNotServed'>>,
  timeoutMs: number,
): Promise<'synced' | 'not-served' | 'timeout'> {
  return Promise.race([
    Promise.all(stores.map((s) => s.whenSynced)).then(() => 'synced' as const),
    Promise.race(stores.map((s) => s.whenNotServed)).then(() => 'not-served' as const),
    sleep(timeoutMs, 'timeout' as const, { ref: false }),
  ]);
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
