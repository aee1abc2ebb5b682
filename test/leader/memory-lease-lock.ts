import { ConflictError } from '../../src/domain/shared/errors.js';
import type { LeaseLock, LeaseRecord, VersionedLease } from '../../src/domain/shared/leadership.js';

/** One lease shared by several electors, with resourceVersion semantics and switchable failures per lock. */
export class MemoryLease {
  current: VersionedLease | undefined;
  private rv = 0;
  /** Writes in order: who wrote what. */
  readonly writes: Array<{ by: string; record: LeaseRecord }> = [];

  private readonly hung = new Set<(err: Error) => void>();

  /**
   * A lock on this lease; `faults.fail` makes every call reject, `faults.hang` answer only when
   * `timeOutHungCalls` is called (as a request timeout would end them).
   */
  lock(by: string, faults: { fail?: boolean; hang?: boolean } = {}): LeaseLock {
    const guard = async <T>(fn: () => T): Promise<T> => {
      await Promise.resolve();
      if (faults.hang === true) return new Promise<T>((_resolve, reject) => this.hung.add(reject));
      if (faults.fail === true) throw new Error('the API server is unreachable');
      return fn();
    };
    return {
      description: 'test/lease',
      get: () => guard(() => this.current),
      create: (record) =>
        guard(() => {
          if (this.current !== undefined) throw new ConflictError('ALREADY_EXISTS', 'exists');
          return this.store(by, record);
        }),
      update: (record, version) =>
        guard(() => {
          if (this.current === undefined) throw new Error('not found');
          if (this.current.version !== version) throw new ConflictError('VERSION_CONFLICT', 'stale');
          return this.store(by, record);
        }),
    };
  }

  timeOutHungCalls(): void {
    for (const reject of this.hung) reject(new Error('request timed out'));
    this.hung.clear();
  }

  /** Another party writes the lease directly (a replica not under test). */
  set(record: LeaseRecord): void {
    this.store('outside', record);
  }

  private store(by: string, record: LeaseRecord): VersionedLease {
    this.rv += 1;
    this.current = { record: { ...record }, version: String(this.rv) };
    this.writes.push({ by, record: { ...record } });
    return this.current;
  }
}
