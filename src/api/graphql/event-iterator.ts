import { GraphQLError } from 'graphql';
import { formatGraphQLError } from './plugin.js';

/**
 * Bridges a push subscription into the AsyncIterator GraphQL subscriptions consume. The buffer is
 * bounded: a subscriber too slow to keep up loses the oldest updates (each update is a full
 * state, so the newest one is what matters). `return()` ends the upstream subscription.
 */
export async function pushToAsyncIterator<T>(
  subscribe: (push: (value: T) => void) => Promise<{ unsubscribe(): void }>,
  maxBuffered = 100,
): Promise<AsyncIterableIterator<T>> {
  const buffer: T[] = [];
  let waiting: ((r: IteratorResult<T>) => void) | undefined;
  let done = false;
  // A refusal at subscription time (authorization, a missing target) reaches the client over the
  // websocket without passing the error formatter: give it its code here, as queries get theirs.
  const sub = await subscribe((value) => {
    if (done) return;
    if (waiting !== undefined) {
      const w = waiting;
      waiting = undefined;
      w({ value, done: false });
      return;
    }
    buffer.push(value);
    if (buffer.length > maxBuffered) buffer.shift();
  }).catch((err: unknown) => {
    throw formatGraphQLError(
      err instanceof GraphQLError
        ? err
        : new GraphQLError(err instanceof Error ? err.message : 'Subscription refused.', { originalError: err instanceof Error ? err : undefined }),
    );
  });
  const finish = (): Promise<IteratorResult<T>> => {
    if (!done) {
      done = true;
      sub.unsubscribe();
      waiting?.({ value: undefined, done: true });
      waiting = undefined;
    }
    return Promise.resolve({ value: undefined, done: true });
  };
  const it: AsyncIterableIterator<T> = {
    next() {
      if (buffer.length > 0) return Promise.resolve({ value: buffer.shift() as T, done: false });
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        waiting = resolve;
      });
    },
    return: finish,
    throw(err?: unknown) {
      void finish();
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
