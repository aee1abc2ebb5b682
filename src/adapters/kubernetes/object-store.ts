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

const MAX_TOMBSTONES = 10_000;

/**
 * The cached copy of one kind of object, fed by the watch and by our own writes. An object is only
 * ever replaced by a newer version, so a late watch event cannot undo a write we already saw
 * answered (read-your-writes), and a deleted object is not brought back by an older event.
 */
export class ObjectStore<T extends KubernetesObject> {
  private objects = new Map<string, T>();
  private readonly tombstones = new Map<string, string>();

  get(name: string, namespace = ''): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  list(namespace?: string): T[] {
    const all = [...this.objects.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  /** Keeps `obj` unless the store already holds the same or a newer version, or deleted a newer one. */
  upsert(obj: T): void {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const gone = this.tombstones.get(key);
    if (gone !== undefined && !isNewer(rv, gone)) return;
    const held = this.objects.get(key);
    if (held !== undefined && !isNewer(rv, held.metadata?.resourceVersion)) return;
    this.tombstones.delete(key);
    this.objects.set(key, obj);
  }

  /** Forgets the object unless the store holds a version newer than the deleted one. */
  remove(obj: KubernetesObject): void {
    const key = keyOf(obj);
    const rv = obj.metadata?.resourceVersion;
    const held = this.objects.get(key);
    if (held !== undefined && rv !== undefined && isNewer(held.metadata?.resourceVersion, rv)) return;
    this.objects.delete(key);
    const tomb = rv ?? held?.metadata?.resourceVersion;
    if (tomb !== undefined) this.rememberDeleted(key, tomb);
  }

  /**
   * Takes a fresh list as the truth as of `listVersion`: objects missing from it are dropped unless we
   * saw them written after the list was taken.
   */
  replace(items: readonly T[], listVersion: string | undefined): void {
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
    this.objects = next;
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
