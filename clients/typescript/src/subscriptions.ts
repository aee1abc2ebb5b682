import { createClient, type Client as WsClient } from 'graphql-ws';
import type { TokenSource } from './client.js';
import type { OperationStatus } from './operations.js';
import { LabplaneProblemError, type Problem } from './problem.js';

export interface SubscriptionOptions {
  /** The API's origin (`http://…`, `https://…`); subscriptions go to `ws(s)://…/graphql`. */
  readonly baseUrl: string;
  readonly token?: TokenSource;
  /** A WebSocket class (default: the global one of Node 22+ and browsers). */
  readonly webSocketImpl?: unknown;
}

interface GraphQLErrorLike {
  readonly message: string;
  readonly extensions?: Record<string, unknown>;
}

/** A GraphQL error as a LabplaneProblemError: the API puts the problem's code and status in `extensions`. */
function problemOfGraphQL(error: GraphQLErrorLike): LabplaneProblemError {
  const ext = error.extensions ?? {};
  const problem: Problem = {
    type: 'about:blank',
    title: error.message,
    detail: error.message,
    status: typeof ext['status'] === 'number' ? ext['status'] : 400,
    code: typeof ext['code'] === 'string' ? ext['code'] : 'GRAPHQL_ERROR',
    ...(Array.isArray(ext['errors']) ? { errors: ext['errors'] as NonNullable<Problem['errors']> } : {}),
  };
  return new LabplaneProblemError(problem);
}

/** The operation as GraphQL gives it (`result` is a JSON string there). */
export interface OperationUpdate {
  readonly id: string;
  readonly kind: string;
  readonly tenant: string | null;
  readonly status: OperationStatus;
  readonly progress: { readonly percent: number; readonly step: string | null };
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly error: { readonly code: string; readonly title: string; readonly status: number; readonly detail: string | null } | null;
}

const OPERATION_FIELDS = 'id kind tenant status progress { percent step } updatedAt finishedAt error { code title status detail }';

/**
 * GraphQL subscriptions of the API over a WebSocket, in the graphql-ws protocol
 * (`graphql-transport-ws`, which the API's mercurius serves on `/graphql`). The token goes in the
 * `connection_init` payload (`{ authorization: "Bearer …" }`): browsers cannot set headers on a WebSocket.
 */
export class LabplaneSubscriptions {
  private readonly ws: WsClient;

  constructor(options: SubscriptionOptions) {
    const url = new URL('/graphql', options.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = options.token;
    this.ws = createClient({
      url: url.href,
      lazy: true,
      retryAttempts: 3,
      ...(options.webSocketImpl === undefined ? {} : { webSocketImpl: options.webSocketImpl }),
      connectionParams: async () => {
        if (token === undefined) return {};
        const value = typeof token === 'string' ? token : await token();
        return { authorization: /^bearer /i.test(value) ? value : `Bearer ${value}` };
      },
    });
  }

  /** The data of each event of a subscription; a GraphQL error ends it with a LabplaneProblemError. */
  async *subscribe<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    const iterator = this.ws.iterate<T>({ query, variables });
    const stop = () => void iterator.return?.();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const event of iterator) {
        if (event.errors !== undefined && event.errors.length > 0) throw problemOfGraphQL(event.errors[0] as GraphQLErrorLike);
        if (event.data !== undefined && event.data !== null) yield event.data;
      }
      signal?.throwIfAborted();
    } finally {
      signal?.removeEventListener('abort', stop);
      await iterator.return?.();
    }
  }

  /**
   * Each change of one operation (`operationUpdated`), ending after the first final one
   * (succeeded, failed, canceled). The API sends changes only: an operation that is already final
   * sends nothing, so read it once over REST too (waitForOperation) when it may have finished.
   */
  async *operationUpdates(id: string, signal?: AbortSignal): AsyncGenerator<OperationUpdate, void, undefined> {
    const query = `subscription ($id: ID!) { operationUpdated(id: $id) { ${OPERATION_FIELDS} } }`;
    for await (const data of this.subscribe<{ operationUpdated: OperationUpdate }>(query, { id }, signal)) {
      yield data.operationUpdated;
      if (['succeeded', 'failed', 'canceled'].includes(data.operationUpdated.status)) return;
    }
  }

  /** Closes the WebSocket. */
  async close(): Promise<void> {
    await this.ws.dispose();
  }
}
