import { GraphQLError, Kind, type DocumentNode, type GraphQLResolveInfo } from 'graphql';
import { graphqlRuntime } from './graphql-runtime.js';
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

/**
 * Sends an update only when the subscriber would see something new: each update is executed against
 * the subscription's own selection (as graphql-js will to send it; with mercurius' graphql build) and dropped when the result equals
 * the last one sent. A source that reports changes of fields the client did not ask for (a student's
 * `vmState` while it stays `provisioning`) otherwise repeats the same frame. Costs one more execution
 * per update, so it suits payloads of plain data.
 */
export function distinctBySelection<T>(source: AsyncIterableIterator<T>, info: GraphQLResolveInfo, context: unknown): AsyncIterableIterator<T> {
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] };
  let last: string | undefined;
  const isRepeat = async (value: T): Promise<boolean> => {
    const shown = JSON.stringify(
      await graphqlRuntime.execute({ schema: info.schema, document, rootValue: value, contextValue: context, variableValues: info.variableValues }),
    );
    if (shown === last) return true;
    last = shown;
    return false;
  };
  const it: AsyncIterableIterator<T> = {
    async next() {
      for (;;) {
        const r = await source.next();
        if (r.done === true || !(await isRepeat(r.value))) return r;
      }
    },
    return: (value?: unknown) => source.return?.(value) ?? Promise.resolve({ value: undefined, done: true }),
    throw: (err?: unknown) => source.throw?.(err) ?? Promise.reject(err),
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
