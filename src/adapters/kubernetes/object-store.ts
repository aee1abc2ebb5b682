import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * resourceVersions are opaque, but every API server (etcd revisions) issues increasing integers; when
 * both are integers they are compared, otherwise a different version counts as newer.
 */
export function isNewer(candidate: string | undefined, than: string | undefined): boolean {
  if (than === undefined || than === '') return true;
  if (candidate === undefined || candidate === '') return false;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(than)) return BigInt(candidate) > BigInt(than);
  return candidate !== than;
}

export function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/** What a change did to the store: the object now held (`add`/`update`) or the last one held (`delete`). */
export interface StoreChange<T> {
  readonly type: 'add' | 'update' | 'delete';
  readonly obj: T;
}

/** The values an object is found under in one index (e.g. its VM's name for a migration). */
export type Indexer<T> = (obj: T) => readonly string[];

const MAX_TOMBSTONES = 10_000;
const NAMESPACE = '\0namespace';

/**
 * The cached copy of one kind of object, fed by the watch and by our own writes: the only copy the
 * process keeps. An object is only ever replaced by a newer version, so a late watch event cannot
 * undo a write we already saw answered (read-your-writes), and a deleted object is not brought back
 * by an older event. Every mutation says what changed (nothing, when the store kept what it held),
 * so listeners hear of each version once, whichever path brought it first.
 */
export class ObjectStore<T extends KubernetesObject> {
  private objects = new Map<string, T>();
  private readonly tombstones = new Map<string, string>();
  private readonly indexers: ReadonlyMap<string, Indexer<T>>;
  private readonly indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Readonly<Record<string, Indexer<T>>> = {}) {
    this.indexers = new Map<string, Indexer<T>>([[NAMESPACE, (o) => [o.metadata?.namespace ?? '']], ...Object.entries(indexers)]);
    for (const name of this.indexers.keys()) this.indexes.set(name, new Map());
  }

  get(name: string, namespace = ''): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? [...this.objects.values()] : this.byIndex(NAMESPACE, namespace);
  }

  /** The objects an indexer given to the constructor files under `value`. */
  byIndex(index: string, value: string): T[] {
    const keys = this.indexes.get(index)?.get(value);
    return keys === undefined ? [] : [...keys].flatMap((k) => this.objects.get(k) ?? []);
  }

  /** Keeps `obj` unless the store already holds the same or a newer version, or deleted a newer one. */
  upsert(obj: T): StoreChange<T> | undefined {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const gone = this.tombstones.get(key);
    if (gone !== undefined && !isNewer(rv, gone)) return undefined;
    const held = this.objects.get(key);
    if (held !== undefined && !isNewer(rv, held.metadata?.resourceVersion)) return undefined;
    this.tombstones.delete(key);
    this.put(key, obj, held);
    return { type: held === undefined ? 'add' : 'update', obj };
  }

  /** Forgets the object unless the store holds a version newer than the deleted one. */
  remove(obj: KubernetesObject): StoreChange<T> | undefined {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const held = this.objects.get(key);
    if (held !== undefined && rv !== undefined && isNewer(held.metadata?.resourceVersion, rv)) return undefined;
    const tomb = rv ?? held?.metadata?.resourceVersion;
    if (tomb !== undefined) this.rememberDeleted(key, tomb);
    if (held === undefined) return undefined;
    this.drop(key, held);
    return { type: 'delete', obj: held };
  }

  /**
   * Takes a fresh list as the truth as of `listVersion`: objects missing from it are dropped unless we
   * saw them written after the list was taken. Returns what changed, as a watch would have told it.
   */
  replace(items: readonly T[], listVersion: string | undefined): StoreChange<T>[] {
    const next = new Map<string, T>();
    for (const item of items) {
      const key = keyOf(item);
      const gone = this.tombstones.get(key);
      if (gone !== undefined && !isNewer(item.metadata?.resourceVersion, gone)) continue;
      next.set(key, item);
    }
    for (const [key, held] of this.objects) {
      const listed = next.get(key);
      const rv = held.metadata?.resourceVersion;
      if (listed !== undefined ? isNewer(rv, listed.metadata?.resourceVersion) : listVersion !== undefined && isNewer(rv, listVersion)) {
        next.set(key, held);
      }
    }
    for (const [key, rv] of this.tombstones) {
      if (listVersion !== undefined && !isNewer(rv, listVersion)) this.tombstones.delete(key);
    }
    const changes: StoreChange<T>[] = [];
    for (const [key, held] of this.objects) {
      if (!next.has(key)) {
        this.drop(key, held);
        changes.push({ type: 'delete', obj: held });
      }
    }
    for (const [key, obj] of next) {
      const held = this.objects.get(key);
      if (held === obj) continue;
      if (held !== undefined && held.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.put(key, obj, held);
      changes.push({ type: held === undefined ? 'add' : 'update', obj });
    }
    return changes;
  }

  private put(key: string, obj: T, held: T | undefined): void {
    if (held !== undefined) this.unindex(key, held);
    this.objects.set(key, obj);
    for (const [name, indexer] of this.indexers) {
      const index = this.indexes.get(name);
      if (index === undefined) continue;
      for (const value of indexer(obj)) {
        const keys = index.get(value) ?? new Set<string>();
        index.set(value, keys.add(key));
      }
    }
  }

  private drop(key: string, held: T): void {
    this.unindex(key, held);
    this.objects.delete(key);
  }

  private unindex(key: string, held: T): void {
    for (const [name, indexer] of this.indexers) {
      const index = this.indexes.get(name);
      for (const value of indexer(held)) {
        const keys = index?.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index?.delete(value);
      }
    }
  }

  private rememberDeleted(key: string, rv: string): void {
    this.tombstones.delete(key);
    this.tombstones.set(key, rv);
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
  }
}
