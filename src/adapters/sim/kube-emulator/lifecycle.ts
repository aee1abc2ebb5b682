import { RESOURCES } from './resources.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';
import { isObject } from './types.js';

/**
 * Deletion behaviour that real clusters run in controllers: namespace termination (the namespace
 * turns Terminating, its contents are removed, then it disappears) and background garbage
 * collection of dependents whose `ownerReferences` point at a deleted object.
 */
export class Lifecycle {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly orphaned = new Set<string>();
  private readonly dependents = new Map<string, Set<string>>();
  private readonly unsubscribe: () => void;

  /** @param namespaceDeletionDelayMs how long a deleted namespace stays Terminating before it is purged. */
  constructor(
    private readonly store: ObjectStore,
    private readonly namespaceDeletionDelayMs: number,
  ) {
    this.unsubscribe = store.subscribe(undefined, (event) => {
      this.index(event.resource, event.oldObject, event.object, event.type === 'DELETED');
      const uid = event.object.metadata.uid;
      if (event.type !== 'DELETED' || !uid) return;
      if (this.orphaned.delete(uid)) {
        this.dependents.delete(uid);
        return;
      }
      this.later(0, () => this.collectDependents(uid));
    });
  }

  /** Keeps the owner uid → dependents index current. */
  private index(resource: string, before: KubeObject | undefined, after: KubeObject, deleted: boolean): void {
    const ref = `${resource}|${after.metadata.namespace ?? ''}|${after.metadata.name ?? ''}`;
    for (const r of before?.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(ref);
    if (deleted) return;
    for (const r of after.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(r.uid);
      if (!set) {
        set = new Set();
        this.dependents.set(r.uid, set);
      }
      set.add(ref);
    }
  }

  /** Marks the uid so that deleting its object leaves dependents alone (propagationPolicy=Orphan). */
  orphanDependentsOf(uid: string): void {
    this.orphaned.add(uid);
  }

  /** Starts terminating a namespace; returns it (phase Terminating) or undefined if missing. */
  deleteNamespace(name: string): KubeObject | undefined {
    const existing = this.store.peek('namespaces', undefined, name);
    if (!existing) return undefined;
    const wasTerminating = existing.metadata.deletionTimestamp !== undefined;
    const marked = this.store.beginDeletion('namespaces', undefined, name, (ns) => {
      ns.status = { ...(isObject(ns.status) ? ns.status : {}), phase: 'Terminating' };
    });
    if (!wasTerminating) this.later(this.namespaceDeletionDelayMs, () => this.purgeNamespace(name));
    return marked;
  }

  /** Cancels pending work and stops listening. */
  stop(): void {
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private purgeNamespace(name: string): void {
    for (const def of RESOURCES) {
      if (!def.namespaced) continue;
      for (const obj of [...this.store.scan(def.key, name)]) this.forceDelete(def.key, obj);
    }
    this.forceDelete('namespaces', this.store.peek('namespaces', undefined, name));
  }

  private forceDelete(resource: string, obj: KubeObject | undefined): void {
    if (!obj?.metadata.name) return;
    const { name, namespace } = obj.metadata;
    const left = this.store.delete(resource, namespace, name);
    if (left && this.store.peek(resource, namespace, name)) {
      const cleared = this.store.get(resource, namespace, name);
      if (!cleared) return;
      cleared.metadata.finalizers = [];
      delete cleared.metadata.resourceVersion;
      this.store.update(resource, cleared);
    }
  }

  private collectDependents(uid: string): void {
    const refs = this.dependents.get(uid);
    this.dependents.delete(uid);
    for (const ref of refs ?? []) {
      const [resource = '', namespace = '', name = ''] = ref.split('|');
      this.store.delete(resource, namespace || undefined, name);
    }
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
