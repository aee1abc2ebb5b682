import { createApi, type LabplaneApi, type LabplaneClientOptions } from './client.js';
import { waitForOperation, type Operation, type WaitOptions } from './operations.js';
import { LabplaneSubscriptions } from './subscriptions.js';

export { createApi, sleep, unwrap, type LabplaneApi, type LabplaneClientOptions, type TokenSource } from './client.js';
export type { components, operations, paths } from './generated/openapi.js';
export { FINAL_STATUSES, isFinal, waitForOperation, type Operation, type OperationStatus, type WaitOptions } from './operations.js';
export { items, pages, type Page, type PageStart } from './pages.js';
export { LabplaneProblemError, problemOf, retryAfterSeconds, type Problem, type ProblemFieldError } from './problem.js';
export { detectFormat, parseRoster, RosterError, type LabPersonInput, type Roster, type RosterFormat, type RosterOptions } from './roster.js';
export { LabplaneSubscriptions, type OperationUpdate, type SubscriptionOptions } from './subscriptions.js';

export interface LabplaneClient {
  /** The typed REST client (openapi-fetch): `await client.api.GET('/v1/tenants/{tenant}', { params: { path: { tenant } } })`. */
  readonly api: LabplaneApi;
  /** Waits for an operation to finish (see waitForOperation). */
  waitForOperation(id: string, options?: WaitOptions): Promise<Operation>;
  /** GraphQL subscriptions, over one WebSocket opened on first use. */
  readonly subscriptions: LabplaneSubscriptions;
  /** Closes the subscriptions' WebSocket, if one was opened. */
  close(): Promise<void>;
}

/**
 * A client of the labplane API:
 *
 *     const lp = createLabplaneClient({ baseUrl: 'http://127.0.0.1:8080', token: process.env.LABPLANE_TOKEN });
 *     const { data: op } = await lp.api.POST('/v1/tenants/{tenant}/labs', { params: { path: { tenant } }, body });
 *     const done = await lp.waitForOperation(op!.id, { onProgress: (o) => console.log(o.progress.percent) });
 */
export function createLabplaneClient(options: LabplaneClientOptions & { readonly webSocketImpl?: unknown }): LabplaneClient {
  const api = createApi(options);
  let subscriptions: LabplaneSubscriptions | undefined;
  return {
    api,
    waitForOperation: (id, waitOptions = {}) => waitForOperation(api, id, { ...(options.sleep ? { sleep: options.sleep } : {}), ...waitOptions }),
    get subscriptions() {
      subscriptions ??= new LabplaneSubscriptions({
        baseUrl: options.baseUrl,
        ...(options.token === undefined ? {} : { token: options.token }),
        ...(options.webSocketImpl === undefined ? {} : { webSocketImpl: options.webSocketImpl }),
      });
      return subscriptions;
    },
    async close() {
      await subscriptions?.close();
    },
  };
}
