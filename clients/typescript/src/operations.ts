import type { LabplaneApi } from './client.js';
import { sleep as timerSleep } from './client.js';
import type { components } from './generated/openapi.js';
import { LabplaneProblemError, retryAfterSeconds } from './problem.js';

export type Operation = components['schemas']['Operation'];
export type OperationStatus = components['schemas']['OperationStatus'];

export const FINAL_STATUSES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'canceled']);

export function isFinal(op: Pick<Operation, 'status'>): boolean {
  return FINAL_STATUSES.has(op.status);
}

export interface WaitOptions {
  /** Called with the operation each time its status, percent or step changed (and once at the start). */
  readonly onProgress?: (op: Operation) => void;
  /**
   * Stops waiting: the promise rejects with the signal's reason. Unless `cancelOnAbort` is false, the
   * operation is also canceled on the API (`POST /v1/operations/{id}/cancel`) first.
   */
  readonly signal?: AbortSignal;
  /** Cancel the operation itself when `signal` aborts (default true). */
  readonly cancelOnAbort?: boolean;
  /** Wait between two reads when the answer has no `Retry-After` (default 2 s, the API's own advice). */
  readonly defaultDelayMs?: number;
  /** The longest wait between two reads, whatever `Retry-After` says (default 30 s). */
  readonly maxDelayMs?: number;
  /** How to wait (tests inject time). Default: a timer. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Reads the operation until it is final (succeeded, failed or canceled) and returns it, waiting
 * between reads as long as the API's `Retry-After` says. A failed operation is returned, not thrown:
 * its `error` is the problem.
 */
export async function waitForOperation(api: LabplaneApi, id: string, options: WaitOptions = {}): Promise<Operation> {
  const sleep = options.sleep ?? timerSleep;
  const defaultDelay = options.defaultDelayMs ?? 2_000;
  const maxDelay = options.maxDelayMs ?? 30_000;
  const { signal } = options;
  let last = '';
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { data, response } = await api.GET('/v1/operations/{operationId}', {
        params: { path: { operationId: id } },
        ...(signal ? { signal } : {}),
      });
      if (data === undefined) throw new Error(`operation ${id}: no body`);
      const seen = `${data.status}|${data.progress.percent}|${data.progress.step ?? ''}`;
      if (seen !== last) {
        last = seen;
        options.onProgress?.(data);
      }
      if (isFinal(data)) return data;
      const seconds = retryAfterSeconds(response.headers);
      await sleep(Math.min(maxDelay, seconds === undefined ? defaultDelay : seconds * 1000), signal);
    }
  } catch (error) {
    if (signal?.aborted && options.cancelOnAbort !== false) await cancelQuietly(api, id);
    throw error;
  }
}

/** Asks the API to cancel; an operation that already finished (409) or is gone is left as it is. */
async function cancelQuietly(api: LabplaneApi, id: string): Promise<void> {
  try {
    await api.POST('/v1/operations/{operationId}/cancel', { params: { path: { operationId: id } } });
  } catch (error) {
    if (!(error instanceof LabplaneProblemError) || (error.status !== 409 && error.status !== 404)) throw error;
  }
}
