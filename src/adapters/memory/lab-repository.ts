import { randomUUID } from 'node:crypto';
import { createFaultGate } from './fault-gate.js';
import { isDeepStrictEqual } from 'node:util';
import type { LabRecord, LabSpec, LabStoredStatus } from '../../domain/labs/lab.js';
import type { LabEvent, LabRepository } from '../../domain/labs/lab-repository.js';
import { ConflictError, NotFoundError, PreconditionFailedError } from '../../domain/shared/errors.js';
import { systemClock, type Clock, type IdGenerator } from '../../domain/shared/ids.js';

/** A lab present from the start, with an optional status (default: no failures). */
export interface SeededLab {
  readonly spec: LabSpec;
  readonly status?: LabStoredStatus;
}

/** Options of {@link createMemoryLabRepository}; all optional. */
export interface MemoryLabRepositoryOptions {
  readonly clock?: Clock;
  /** Makes `uid`s (random UUIDs by default). */
  readonly ids?: IdGenerator;
  /** Labs present from the start (generation 1). */
  readonly labs?: readonly SeededLab[];
}

/**
 * In-memory `LabRepository` with the semantics of the Kubernetes adapter (the contract suite runs
 * against both): one resourceVersion counter for all labs, `generation` that grows on spec changes
 * only, no-op writes that change nothing, status kept apart from the spec. Listeners are called
 * synchronously, after the change is visible to reads. Adds seeding and fault injection for tests.
 */
export interface MemoryLabRepository extends LabRepository {
  /** The next call (any method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Every call waits this long first (0 turns it off). */
  latency(ms: number): void;
  /** Puts a lab as another writer would (GitOps, kubectl): replaces spec and status, no checks, no fault. */
  seed(lab: SeededLab): LabRecord;
  /** Marks a lab as being deleted (a finalizer holds it): `deleting` becomes true, it stays readable. */
  markDeleting(tenant: string, name: string): LabRecord;
  /** For symmetry with the Kubernetes adapter; nothing to start or stop. */
  start(): Promise<void>;
  close(): Promise<void>;
}

const EMPTY_STATUS: LabStoredStatus = { failures: {} };

function key(tenant: string, name: string): string {
  return `${tenant}/${name}`;
}

function specOf(record: LabRecord): LabSpec {
  const { uid: _uid, createdAt: _c, version: _v, generation: _g, deleting: _d, status: _s, ...spec } = record;
  return spec;
}

function compare(a: LabRecord, b: LabRecord): number {
  if (a.tenant !== b.tenant) return a.tenant < b.tenant ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function createMemoryLabRepository(options: MemoryLabRepositoryOptions = {}): MemoryLabRepository {
  const clock = options.clock ?? systemClock;
  const nextUid = () => options.ids?.next() ?? randomUUID();
  const labs = new Map<string, LabRecord>();
  const listeners = new Set<(event: LabEvent) => void>();
  let resourceVersion = 0;
  const gate = createFaultGate();
  const { enter } = gate;

  const nextVersion = () => String(++resourceVersion);

  function emit(type: LabEvent['type'], lab: LabRecord): void {
    for (const listener of [...listeners]) {
      try {
        listener({ type, tenant: lab.tenant, name: lab.name, lab: structuredClone(lab) });
      } catch {
        // Listeners must not throw; one that does must not break the write or the other listeners.
      }
    }
  }

  function store(record: LabRecord): LabRecord {
    labs.set(key(record.tenant, record.name), record);
    emit('changed', record);
    return structuredClone(record);
  }

  function existing(tenant: string, name: string): LabRecord {
    const cur = labs.get(key(tenant, name));
    if (cur === undefined) throw new NotFoundError('lab', name);
    return cur;
  }

  function fresh(spec: LabSpec, status: LabStoredStatus): LabRecord {
    return {
      ...structuredClone(spec),
      uid: nextUid(),
      createdAt: clock.now().toISOString(),
      version: nextVersion(),
      generation: 1,
      deleting: false,
      status: structuredClone(status),
    };
  }

  for (const lab of options.labs ?? []) labs.set(key(lab.spec.tenant, lab.spec.name), fresh(lab.spec, lab.status ?? EMPTY_STATUS));

  return {
    failNext: gate.failNext,
    latency: gate.latency,
    seed({ spec, status }) {
      const cur = labs.get(key(spec.tenant, spec.name));
      if (cur === undefined) return store(fresh(spec, status ?? EMPTY_STATUS));
      const specChanged = !isDeepStrictEqual(specOf(cur), spec);
      return store({
        ...cur,
        ...structuredClone(spec),
        status: structuredClone(status ?? cur.status),
        version: nextVersion(),
        generation: specChanged ? cur.generation + 1 : cur.generation,
      });
    },
    markDeleting(tenant, name) {
      const cur = existing(tenant, name);
      return cur.deleting ? structuredClone(cur) : store({ ...cur, deleting: true, version: nextVersion() });
    },
    start: async () => undefined,
    close: async () => {
      listeners.clear();
    },

    async list(tenant) {
      await enter();
      return [...labs.values()]
        .filter((l) => tenant === undefined || l.tenant === tenant)
        .sort(compare)
        .map((l) => structuredClone(l));
    },

    async get(tenant, name) {
      await enter();
      const cur = labs.get(key(tenant, name));
      return cur === undefined ? undefined : structuredClone(cur);
    },

    async create(spec) {
      await enter();
      if (labs.has(key(spec.tenant, spec.name))) {
        throw new ConflictError('LAB_EXISTS', `Lab '${spec.name}' already exists in tenant '${spec.tenant}'.`);
      }
      return store(fresh(spec, EMPTY_STATUS));
    },

    async update(tenant, name, spec, expectedVersion) {
      await enter();
      const cur = existing(tenant, name);
      if (expectedVersion !== undefined && expectedVersion !== cur.version) {
        throw new PreconditionFailedError('VERSION_MISMATCH', `Lab '${name}' changed since version ${expectedVersion}; read it again.`, {
          details: { expectedVersion, currentVersion: cur.version },
        });
      }
      const next: LabSpec = { ...structuredClone(spec), tenant, name };
      if (isDeepStrictEqual(specOf(cur), next)) return structuredClone(cur);
      const { uid, createdAt, deleting, status, generation } = cur;
      return store({ ...next, uid, createdAt, deleting, status, version: nextVersion(), generation: generation + 1 });
    },

    async updateStatus(tenant, name, mutate) {
      await enter();
      const cur = existing(tenant, name);
      const next = mutate(structuredClone(cur.status));
      if (next === undefined || isDeepStrictEqual(next, cur.status)) return structuredClone(cur);
      return store({ ...cur, status: structuredClone(next), version: nextVersion() });
    },

    async delete(tenant, name) {
      await enter();
      const cur = labs.get(key(tenant, name));
      if (cur === undefined) return false;
      labs.delete(key(tenant, name));
      emit('deleted', cur);
      return true;
    },

    watch(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
  };
}
