import { randomUUID } from 'node:crypto';
import { alreadyExists, conflict, invalid, notFound } from './errors.js';
import { resourceByKey } from './resources.js';
import type { ResourceDef } from './resources.js';
import { allOf, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { KubeObject, StoreEvent } from './types.js';
import { clone } from './types.js';

/** Filters for {@link ObjectStore.list}. */
export interface StoreListOptions {
  /** Only this namespace (namespaced resources); all namespaces when omitted. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/** Called synchronously, in resourceVersion order, for every committed change. */
export type StoreListener = (event: StoreEvent) => void;

const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** `generateName` + 5 random characters, like the API server. */
export function generateNameFrom(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += GENERATE_ALPHABET[Math.floor(Math.random() * GENERATE_ALPHABET.length)];
  return `${prefix}${suffix}`;
}

/** RFC 3339 timestamp with second precision, as Kubernetes renders `metav1.Time`. */
export function timestamp(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** JSON with object keys sorted, so that key order does not count as a change. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const src = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(src)
        .sort()
        .map((k) => [k, src[k]]),
    );
  });
}

/** Everything but metadata and status, serialised: the part whose change bumps `generation`. */
function specFingerprint(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = obj;
  return stableJson(rest);
}

function contentFingerprint(obj: KubeObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return stableJson({ ...obj, metadata: meta });
}

/**
 * In-memory object store with the semantics of etcd behind an API server: objects keyed by
 * resource/namespace/name, one global resourceVersion counter, a bounded per-resource event history
 * for watch resumption, finalizers and no-op update detection. Resources are named by store key
 * (`secrets`, `virtualmachines.kubevirt.io`). Writes here bypass validation and admission (quota),
 * but still bump resourceVersion and notify watchers. Returned objects are copies.
 */
export class ObjectStore {
  private readonly data = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly history = new Map<string, { events: StoreEvent[]; compactedRv: number }>();
  private readonly listeners = new Set<{ resource: string | undefined; fn: StoreListener }>();
  private readonly queue: StoreEvent[] = [];
  private dispatching = false;
  private rv = 0;

  /** @param historyLimit events kept per resource for watch resumption; older resourceVersions answer 410. */
  constructor(private readonly historyLimit = 1000) {}

  /** The latest resourceVersion handed out. */
  resourceVersion(): number {
    return this.rv;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.peek(resource, namespace, name);
    return found ? clone(found) : undefined;
  }

  /** Like {@link get} without copying: the caller must not mutate the result. */
  peek(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = resourceByKey(resource);
    return this.data
      .get(resource)
      ?.get(def.namespaced ? (namespace ?? '') : '')
      ?.get(name);
  }

  /** Matching objects sorted by namespace then name (copies). */
  list(resource: string, opts: StoreListOptions = {}): KubeObject[] {
    const matcher = allOf(parseLabelSelector(opts.labelSelector), parseFieldSelector(opts.fieldSelector, resource));
    const out: KubeObject[] = [];
    for (const obj of this.scan(resource, opts.namespace)) {
      if (!matcher || matcher(obj)) out.push(obj);
    }
    return sortObjects(out).map(clone);
  }

  /** Iterates stored objects without copying or sorting: the caller must not mutate them. */
  *scan(resource: string, namespace?: string): Generator<KubeObject> {
    const byNs = this.data.get(resource);
    if (!byNs) return;
    if (namespace !== undefined && resourceByKey(resource).namespaced) {
      yield* byNs.get(namespace)?.values() ?? [];
      return;
    }
    for (const objects of byNs.values()) yield* objects.values();
  }

  /** Number of stored objects of a resource (optionally in one namespace). */
  count(resource: string, namespace?: string): number {
    const byNs = this.data.get(resource);
    if (!byNs) return 0;
    if (namespace !== undefined && resourceByKey(resource).namespaced) return byNs.get(namespace)?.size ?? 0;
    let n = 0;
    for (const objects of byNs.values()) n += objects.size;
    return n;
  }

  /** Stores a new object (generates the name from `generateName`); 409 AlreadyExists if taken. */
  create(resource: string, input: KubeObject): KubeObject {
    const def = resourceByKey(resource);
    const obj = clone(input);
    const meta = obj.metadata;
    if (!meta.name && meta.generateName) meta.name = generateNameFrom(meta.generateName);
    const name = meta.name;
    if (!name)
      throw invalid(def, '', [{ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' }]);
    const ns = this.nsKey(def, obj);
    if (this.bucket(def, ns).has(name)) throw alreadyExists(def, name);
    meta.uid ??= randomUUID();
    meta.creationTimestamp ??= timestamp();
    if (def.hasGeneration) meta.generation = 1;
    else delete meta.generation;
    meta.resourceVersion = String(++this.rv);
    this.bucket(def, ns).set(name, obj);
    this.commit({ type: 'ADDED', resource, object: obj, rv: this.rv });
    return clone(obj);
  }

  /**
   * Replaces an existing object. A set `metadata.resourceVersion` that differs from the stored one
   * answers 409 Conflict. uid, creationTimestamp and deletionTimestamp are kept; an unchanged object
   * is not rewritten. An object being deleted whose last finalizer goes away is removed.
   */
  update(resource: string, input: KubeObject): KubeObject {
    const def = resourceByKey(resource);
    const obj = clone(input);
    const name = obj.metadata.name ?? '';
    const ns = this.nsKey(def, obj);
    const old = this.bucket(def, ns).get(name);
    if (!old) throw notFound(def, name);
    if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(def, name);
    }
    const meta = obj.metadata;
    for (const key of ['uid', 'creationTimestamp', 'deletionTimestamp', 'resourceVersion'] as const) {
      const kept = old.metadata[key];
      if (kept === undefined) delete meta[key];
      else meta[key] = kept;
    }
    if (def.hasGeneration) {
      const gen = old.metadata.generation ?? 1;
      meta.generation = specFingerprint(obj) === specFingerprint(old) ? gen : gen + 1;
    } else {
      delete meta.generation;
    }
    if (meta.deletionTimestamp && (meta.finalizers ?? []).length === 0) return this.removeStored(def, ns, obj, old);
    if (contentFingerprint(obj) === contentFingerprint(old)) return clone(old);
    meta.resourceVersion = String(++this.rv);
    this.bucket(def, ns).set(name, obj);
    this.commit({ type: 'MODIFIED', resource, object: obj, oldObject: old, rv: this.rv });
    return clone(obj);
  }

  /**
   * Deletes an object: with finalizers it only gets a deletionTimestamp (MODIFIED); otherwise it is
   * removed (DELETED). Returns the last state, or undefined when it did not exist.
   */
  delete(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = resourceByKey(resource);
    const ns = def.namespaced ? (namespace ?? '') : '';
    const old = this.bucket(def, ns).get(name);
    if (!old) return undefined;
    if ((old.metadata.finalizers ?? []).length > 0) return this.beginDeletion(resource, namespace, name);
    return this.removeStored(def, ns, clone(old), old);
  }

  /**
   * Sets `deletionTimestamp` (once) and applies `mutate` to the object, keeping it stored (MODIFIED):
   * the state of an object waiting for finalizers, or of a terminating namespace.
   */
  beginDeletion(resource: string, namespace: string | undefined, name: string, mutate?: (obj: KubeObject) => void): KubeObject | undefined {
    const def = resourceByKey(resource);
    const ns = def.namespaced ? (namespace ?? '') : '';
    const old = this.bucket(def, ns).get(name);
    if (!old) return undefined;
    const marked = clone(old);
    marked.metadata.deletionTimestamp ??= timestamp();
    mutate?.(marked);
    if (contentFingerprint(marked) === contentFingerprint(old)) return clone(old);
    marked.metadata.resourceVersion = String(++this.rv);
    this.bucket(def, ns).set(name, marked);
    this.commit({ type: 'MODIFIED', resource, object: marked, oldObject: old, rv: this.rv });
    return clone(marked);
  }

  /** Subscribes to changes of one resource (or all when `resource` is undefined); returns the unsubscribe function. */
  subscribe(resource: string | undefined, fn: StoreListener): () => void {
    const entry = { resource, fn };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * Events of a resource after `rv`, oldest first, or undefined when `rv` is older than the retained
   * history (the watch must answer 410 Expired).
   */
  eventsSince(resource: string, rv: number): StoreEvent[] | undefined {
    const h = this.history.get(resource);
    if (!h) return [];
    if (rv < h.compactedRv) return undefined;
    let lo = 0;
    let hi = h.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((h.events[mid]?.rv ?? 0) <= rv) lo = mid + 1;
      else hi = mid;
    }
    return h.events.slice(lo);
  }

  /** Oldest resourceVersion a watch of this resource can resume from. */
  oldestResumableRv(resource: string): number {
    return this.history.get(resource)?.compactedRv ?? 0;
  }

  private removeStored(def: ResourceDef, ns: string, last: KubeObject, old: KubeObject): KubeObject {
    this.bucket(def, ns).delete(last.metadata.name ?? '');
    last.metadata.resourceVersion = String(++this.rv);
    this.commit({ type: 'DELETED', resource: def.key, object: last, oldObject: old, rv: this.rv });
    return clone(last);
  }

  private nsKey(def: ResourceDef, obj: KubeObject): string {
    if (!def.namespaced) {
      delete obj.metadata.namespace;
      return '';
    }
    const ns = obj.metadata.namespace;
    if (!ns) throw invalid(def, obj.metadata.name ?? '', [{ reason: 'FieldValueRequired', field: 'metadata.namespace', message: 'Required value' }]);
    return ns;
  }

  private bucket(def: ResourceDef, ns: string): Map<string, KubeObject> {
    let byNs = this.data.get(def.key);
    if (!byNs) {
      byNs = new Map();
      this.data.set(def.key, byNs);
    }
    let objects = byNs.get(ns);
    if (!objects) {
      objects = new Map();
      byNs.set(ns, objects);
    }
    return objects;
  }

  private commit(event: StoreEvent): void {
    let h = this.history.get(event.resource);
    if (!h) {
      h = { events: [], compactedRv: 0 };
      this.history.set(event.resource, h);
    }
    h.events.push(event);
    if (h.events.length > this.historyLimit) {
      const dropped = h.events.splice(0, h.events.length - this.historyLimit);
      h.compactedRv = dropped[dropped.length - 1]?.rv ?? h.compactedRv;
    }
    this.queue.push(event);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.dispatch(next);
    } finally {
      this.dispatching = false;
    }
  }

  private dispatch(event: StoreEvent): void {
    for (const l of [...this.listeners]) {
      if (l.resource !== undefined && l.resource !== event.resource) continue;
      try {
        l.fn(event);
      } catch (err) {
        console.error('kube-emulator: store listener failed', err);
      }
    }
  }
}

/** Sorts by namespace then name, like etcd key order. */
export function sortObjects(objects: KubeObject[]): KubeObject[] {
  return objects.sort((a, b) => {
    const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`;
    const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name ?? ''}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}
