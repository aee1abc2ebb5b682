/** Abort reason of a step whose operation was canceled. */
export class CancelRequested extends Error {
  constructor() {
    super('the operation was canceled');
    this.name = 'CancelRequested';
  }
}

/** Steps running in this process, by operation id, so a cancel can abort them. */
export interface RunningSteps {
  add(operationId: string, controller: AbortController): void;
  delete(operationId: string, controller: AbortController): void;
  /** Aborts every step of the operation running here; false when none runs here. */
  abort(operationId: string, reason: unknown): boolean;
  readonly size: number;
}

export function createRunningSteps(): RunningSteps {
  const byOp = new Map<string, Set<AbortController>>();
  let size = 0;
  return {
    add(id, c) {
      let set = byOp.get(id);
      if (set === undefined) {
        set = new Set();
        byOp.set(id, set);
      }
      set.add(c);
      size += 1;
    },
    delete(id, c) {
      const set = byOp.get(id);
      if (set?.delete(c) === true) {
        size -= 1;
        if (set.size === 0) byOp.delete(id);
      }
    },
    abort(id, reason) {
      const set = byOp.get(id);
      if (set === undefined) return false;
      for (const c of set) c.abort(reason);
      return true;
    },
    get size() {
      return size;
    },
  };
}
