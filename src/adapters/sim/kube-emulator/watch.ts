import type { ServerResponse } from 'node:http';
import { badRequest, expired } from './errors.js';
import { apiVersionOf, withTypeMeta } from './resources.js';
import type { ResourceDef } from './resources.js';
import { allOf, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { sortObjects } from './store.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, StoreEvent } from './types.js';

/** A parsed `?watch=true` request. */
export interface WatchRequest {
  def: ResourceDef;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Unset or `"0"`: start with synthetic ADDED events for current objects; otherwise resume after it. */
  resourceVersion?: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
}

type WireType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/**
 * Streams watch events as newline-delimited JSON over chunked HTTP, like the API server: resumes
 * from a resourceVersion out of the store's bounded history (too old → one ERROR event carrying a
 * 410 Expired Status, then the stream ends), translates MODIFIED into ADDED/DELETED when an object
 * enters or leaves the selector, sends BOOKMARKs when allowed, and ends at `timeoutSeconds`.
 */
export class WatchHub {
  private readonly open = new Map<ServerResponse, () => void>();
  private readonly serialized = new WeakMap<KubeObject, string>();

  /** @param bookmarkIntervalMs period of BOOKMARK events for watches that allow them. */
  constructor(
    private readonly store: ObjectStore,
    private readonly bookmarkIntervalMs: number,
  ) {}

  /** Number of open watch connections. */
  get size(): number {
    return this.open.size;
  }

  /** Serves a watch; throws (before anything is written) for malformed parameters. */
  serve(res: ServerResponse, w: WatchRequest): void {
    const { def } = w;
    const store = this.store;
    const matcher = allOf(parseLabelSelector(w.labelSelector), parseFieldSelector(w.fieldSelector, def.key));
    const inScope = (o: KubeObject | undefined): boolean =>
      o !== undefined && (w.namespace === undefined || o.metadata.namespace === w.namespace) && (!matcher || matcher(o));

    const rvText = w.resourceVersion ?? '';
    const initial = rvText === '' || rvText === '0';
    const rv = initial ? store.resourceVersion() : Number(rvText);
    if (!/^\d*$/.test(rvText) || !Number.isSafeInteger(rv)) throw badRequest(`invalid resource version: "${rvText}"`);
    const backlog = initial ? undefined : store.eventsSince(def.key, rv);

    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (!initial && backlog === undefined) {
      const status = expired(`too old resource version: ${rv} (${store.oldestResumableRv(def.key) + 1})`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }

    const send = (event: StoreEvent): void => {
      const was = event.type === 'ADDED' ? false : inScope(event.oldObject);
      const now = event.type === 'DELETED' ? false : inScope(event.object);
      if (event.type === 'DELETED') {
        if (inScope(event.object) || was) this.write(res, def, 'DELETED', event.object);
      } else if (now) this.write(res, def, was ? 'MODIFIED' : 'ADDED', event.object);
      else if (was) this.write(res, def, 'DELETED', event.object);
    };
    const unsubscribe = store.subscribe(def.key, send);
    const timers: NodeJS.Timeout[] = [];
    const cleanup = (): void => {
      unsubscribe();
      timers.forEach((t) => clearTimeout(t));
      this.open.delete(res);
    };
    this.open.set(res, cleanup);
    res.on('close', cleanup);

    if (initial) {
      const current = sortObjects([...store.scan(def.key, w.namespace)].filter((o) => inScope(o)));
      for (const o of current) this.write(res, def, 'ADDED', o);
    } else {
      for (const e of backlog ?? []) send(e);
    }
    const bookmark = (): void => {
      const object = { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(store.resourceVersion()) } };
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object })}\n`);
    };
    if (w.allowBookmarks) timers.push(setInterval(bookmark, this.bookmarkIntervalMs));
    if (w.timeoutSeconds !== undefined && w.timeoutSeconds > 0) {
      timers.push(
        setTimeout(() => {
          if (w.allowBookmarks) bookmark();
          cleanup();
          res.end();
        }, w.timeoutSeconds * 1000),
      );
    }
  }

  /** Abruptly destroys every open watch connection (no final chunk). */
  dropAll(): number {
    const dropped = [...this.open.entries()];
    for (const [res, cleanup] of dropped) {
      cleanup();
      res.socket?.destroy();
      res.destroy();
    }
    return dropped.length;
  }

  /** Ends every open watch gracefully. */
  closeAll(): void {
    for (const [res, cleanup] of [...this.open.entries()]) {
      cleanup();
      res.end();
    }
  }

  private write(res: ServerResponse, def: ResourceDef, type: WireType, obj: KubeObject): void {
    let json = this.serialized.get(obj);
    if (json === undefined) {
      json = JSON.stringify(withTypeMeta(def, obj));
      this.serialized.set(obj, json);
    }
    res.write(`{"type":"${type}","object":${json}}\n`);
  }
}
