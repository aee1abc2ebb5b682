import type { Logger } from './logger.js';

/** What leader election reads and writes in the shared lease (the spec of a coordination.k8s.io Lease). */
export interface LeaseRecord {
  /** Empty when nobody holds the lease (released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime: Date | undefined;
  readonly renewTime: Date | undefined;
  readonly leaseTransitions: number;
}

/** A lease record with the version every write must name (optimistic concurrency). */
export interface VersionedLease {
  readonly record: LeaseRecord;
  readonly version: string;
}

/**
 * Where the lease lives. `create` fails with ConflictError `ALREADY_EXISTS` when another process
 * created it first; `update` fails with ConflictError `VERSION_CONFLICT` when `version` is stale.
 */
export interface LeaseLock {
  /** `namespace/name`, for logs. */
  readonly description: string;
  get(): Promise<VersionedLease | undefined>;
  create(record: LeaseRecord): Promise<VersionedLease>;
  update(record: LeaseRecord, version: string): Promise<VersionedLease>;
}

/** Told `true` when this process starts leading, `false` when it stops; awaited before the next step. */
export type LeadershipListener = (leading: boolean) => void | Promise<void>;

/** One leader among the replicas of the deployment, for work that must run once (schedules, housekeeping). */
export interface LeaderElector {
  /** This process's holder identity. */
  readonly identity: string;
  /** True between the start-leading and stop-leading notifications. */
  isLeader(): boolean;
  /** Adds a listener; returns its removal. */
  onChange(listener: LeadershipListener): () => void;
  /** Starts campaigning (idempotent). */
  start(): void;
  /** Stops campaigning; when leading, listeners are told `false` first, then the lease is released. */
  stop(): Promise<void>;
}

/** Something that runs only while this process leads. */
export interface LeaderLoop {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Leadership where only one process can exist (nothing to elect): leads from `start` to `stop`.
 */
export function createSoleLeader(identity: string): LeaderElector {
  const listeners = new Set<LeadershipListener>();
  let leading = false;
  let transition: Promise<void> = Promise.resolve();
  const notify = (value: boolean): Promise<void> => {
    transition = transition.then(async () => {
      for (const l of [...listeners]) await l(value);
    });
    return transition;
  };
  return {
    identity,
    isLeader: () => leading,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (leading) return;
      leading = true;
      void notify(true);
    },
    async stop() {
      if (!leading) return transition;
      leading = false;
      return notify(false);
    },
  };
}

/**
 * Runs `loops` only while `elector` leads: started on election, stopped (awaited) on losing it.
 * `start` starts campaigning; `stop` stops the loops and then steps down (releasing the lease).
 */
export function runWhileLeading(elector: LeaderElector, loops: readonly LeaderLoop[], logger: Logger): LeaderLoop {
  let unsubscribe: (() => void) | undefined;
  let running = false;
  const stopAll = async (): Promise<void> => {
    if (!running) return;
    running = false;
    const results = await Promise.allSettled(loops.map((l) => l.stop()));
    for (const r of results) if (r.status === 'rejected') logger.warn({ err: r.reason as unknown }, 'a loop failed to stop');
  };
  return {
    start() {
      if (unsubscribe !== undefined) return;
      unsubscribe = elector.onChange(async (leading) => {
        if (!leading) return stopAll();
        running = true;
        for (const l of loops) l.start();
        return undefined;
      });
      elector.start();
    },
    async stop() {
      await elector.stop();
      unsubscribe?.();
      unsubscribe = undefined;
      await stopAll();
    },
  };
}
