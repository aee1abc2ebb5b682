import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { IDEMPOTENT_POSTS } from './generated/idempotent-routes.js';
import type { paths } from './generated/openapi.js';
import { problemOf, retryAfterSeconds } from './problem.js';

export type LabplaneApi = Client<paths>;

/** A bearer token, or a function asked for one before each request (e.g. a refreshing Azure AD credential). */
export type TokenSource = string | (() => string | Promise<string>);

export interface LabplaneClientOptions {
  /** The API's origin, e.g. `http://127.0.0.1:8080` (paths such as `/v1/tenants` are appended). */
  readonly baseUrl: string;
  /** Bearer token (a dev token, or an Azure AD access token for the API). */
  readonly token?: TokenSource;
  /**
   * Send an `Idempotency-Key` on every POST the contract says takes one (default true), so that a
   * retried create never runs twice. A key the caller set is kept. A function chooses the keys.
   */
  readonly idempotencyKeys?: boolean | (() => string);
  /** How many times a 429 or 503 answer (and a network failure of a request safe to repeat) is retried, waiting `Retry-After` (default 2). */
  readonly retries?: number;
  /** The longest wait between two retries, whatever `Retry-After` says (default 30 s). */
  readonly maxRetryDelayMs?: number;
  /** `fetch` to send requests with (default: the global one). */
  readonly fetch?: (request: Request) => Promise<Response>;
  /** How the client waits (tests inject time). Default: a timer. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const SAFE_TO_REPEAT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/**
 * The typed client of the contract (openapi-fetch), with authentication, idempotency keys, retries
 * honouring `Retry-After`, and every error answer thrown as a LabplaneProblemError (so a call that
 * returns has succeeded).
 */
export function createApi(options: LabplaneClientOptions): LabplaneApi {
  const base = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const wait = options.sleep ?? sleep;
  const retries = options.retries ?? 2;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;

  // openapi-fetch leaves retries to the fetch it is given: this one repeats the same Request
  // (same Idempotency-Key), only where repeating cannot do a thing twice.
  const retryingFetch = async (request: Request): Promise<Response> => {
    const repeatable = SAFE_TO_REPEAT.has(request.method) || request.headers.has('idempotency-key');
    for (let attempt = 0; ; attempt += 1) {
      const copy = attempt < retries ? request.clone() : request;
      let response: Response;
      try {
        response = await base(copy);
      } catch (error) {
        if (!repeatable || attempt >= retries || request.signal.aborted) throw error;
        await wait(Math.min(maxDelay, 500 * 2 ** attempt), request.signal);
        continue;
      }
      if ((response.status !== 429 && response.status !== 503) || attempt >= retries) return response;
      // 429 and 503 are refusals before any work: repeating is safe for every method.
      const seconds = retryAfterSeconds(response.headers);
      await response.body?.cancel();
      await wait(Math.min(maxDelay, seconds === undefined ? 1000 * 2 ** attempt : seconds * 1000), request.signal);
    }
  };

  const api = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), fetch: retryingFetch });
  const token = options.token;
  const keys = options.idempotencyKeys ?? true;
  const middleware: Middleware = {
    async onRequest({ request, schemaPath }) {
      if (token !== undefined && !request.headers.has('authorization')) {
        const value = typeof token === 'string' ? token : await token();
        request.headers.set('authorization', /^bearer /i.test(value) ? value : `Bearer ${value}`);
      }
      if (keys !== false && request.method === 'POST' && IDEMPOTENT_POSTS.has(schemaPath) && !request.headers.has('idempotency-key')) {
        request.headers.set('idempotency-key', typeof keys === 'function' ? keys() : crypto.randomUUID());
      }
      return request;
    },
    async onResponse({ response }) {
      if (response.status >= 400) throw await problemOf(response);
      return undefined;
    },
  };
  api.use(middleware);
  return api;
}

/**
 * The data of a call of the typed client, which throws on error answers: `await unwrap(api.GET(...))`.
 * (A 204 answers no data: its type is `never` then, and the value undefined.)
 */
export async function unwrap<R extends { data?: unknown; response: Response }>(call: Promise<R>): Promise<NonNullable<R['data']>> {
  const result = await call;
  return result.data as NonNullable<R['data']>;
}
