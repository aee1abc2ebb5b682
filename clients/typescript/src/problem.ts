import type { components } from './generated/openapi.js';

export type Problem = components['schemas']['Problem'];
export type ProblemFieldError = NonNullable<Problem['errors']>[number];

/**
 * An RFC 9457 problem answered by the API, thrown by the client for every 4xx and 5xx answer.
 * `code` is the stable machine-readable code from the API's catalogue (a client must accept codes it
 * does not know and fall back on `status`); `errors` names each offending field of a 400/422.
 */
export class LabplaneProblemError extends Error {
  override readonly name = 'LabplaneProblemError';
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly type: string;
  readonly detail: string | undefined;
  readonly instance: string | undefined;
  readonly errors: readonly ProblemFieldError[];
  /** The whole problem document as answered (with `details` and other extension members). */
  readonly problem: Problem;
  /** Seconds the API asked to wait before retrying (`Retry-After` of a 429 or 503), when it did. */
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: Problem, retryAfterSeconds?: number) {
    super(problem.detail === undefined ? `${problem.code}: ${problem.title}` : `${problem.code}: ${problem.detail}`);
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.type = problem.type;
    this.detail = problem.detail;
    this.instance = problem.instance;
    this.errors = problem.errors ?? [];
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Seconds of a `Retry-After` header given as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const raw = headers.get('retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+$/.test(raw)) return Number(raw);
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The problem of an error answer. An answer that is not problem+json (a proxy's HTML page, an empty
 * 502) still becomes a LabplaneProblemError, with a code derived from its status, so callers handle
 * one kind of error.
 */
export async function problemOf(response: Response): Promise<LabplaneProblemError> {
  const retryAfter = retryAfterSeconds(response.headers);
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (isProblem(body)) return new LabplaneProblemError(body, retryAfter);
  return new LabplaneProblemError(
    {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      code: `HTTP_${response.status}`,
      detail: text === '' ? `The server answered ${response.status} without a problem document.` : text.slice(0, 500),
    },
    retryAfter,
  );
}

function isProblem(x: unknown): x is Problem {
  if (typeof x !== 'object' || x === null) return false;
  const p = x as Record<string, unknown>;
  return typeof p['code'] === 'string' && typeof p['status'] === 'number' && typeof p['title'] === 'string';
}
