import { isTerminal, type Operation } from './operation.js';

/**
 * Which updates a subscriber wants: one operation, one tenant's, all of them (admin views), or
 * only cancels of operations still running (what workers need to abort steps; buses may carry
 * these apart so workers do not receive every update).
 */
export type OperationEventFilter =
  | { readonly operationId: string }
  | { readonly tenant: string }
  | { readonly all: true }
  | { readonly cancels: true };

export type OperationListener = (operation: Operation) => void;

export interface OperationSubscription {
  /** Stops delivery; idempotent. */
  unsubscribe(): void;
}

/**
 * Fan-out of operation updates to every process that watches them (GraphQL subscriptions, the
 * workers that must abort a canceled step). The Redis implementation works across processes.
 *
 * Delivery is at most once and best effort: updates published while a subscriber is disconnected
 * are lost, so watchers re-read the operation after a reconnect. Updates of one operation arrive in
 * the order they were published by one process. Listeners must not throw (errors are logged).
 */
export interface OperationEvents {
  /** Publishes the new state of an operation (the client view: no input, no secrets). */
  publish(operation: Operation): Promise<void>;
  /** Resolves once the subscription is live: any update published afterwards is delivered. */
  subscribe(filter: OperationEventFilter, listener: OperationListener): Promise<OperationSubscription>;
}

export function matchesEventFilter(filter: OperationEventFilter, op: Operation): boolean {
  if ('operationId' in filter) return op.id === filter.operationId;
  if ('tenant' in filter) return op.tenant === filter.tenant;
  if ('cancels' in filter) return isCancelOfRunning(op);
  return true;
}

/** An update a worker must act on: cancel requested, operation not finished yet. */
export function isCancelOfRunning(op: Operation): boolean {
  return op.cancelRequested && !isTerminal(op.status);
}
