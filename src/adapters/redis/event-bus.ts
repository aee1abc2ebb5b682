import type { Redis } from 'ioredis';
import type { Logger } from '../../domain/operations/logger.js';
import { toOperation, type Operation, type OperationRecord } from '../../domain/operations/operation.js';
import {
  isCancelOfRunning,
  matchesEventFilter,
  type OperationEventFilter,
  type OperationEvents,
  type OperationListener,
} from '../../domain/operations/operation-events.js';
import { guarded, watchConnection } from './redis-connection.js';

export interface RedisOperationEventsDeps {
  /** Command connection used to PUBLISH (shared). */
  readonly redis: Redis;
  /** Key prefix; channels are `${prefix}:operations` and `${prefix}:operations:cancels`. */
  readonly prefix: string;
  readonly logger: Logger;
  /** Dedicated connection for SUBSCRIBE; by default a duplicate of `redis`, made on first subscribe. */
  readonly subscriber?: Redis;
}

export interface RedisOperationEvents extends OperationEvents {
  /** Closes the subscriber connection (if this bus made it). */
  close(): Promise<void>;
}

/** The channels of a bus: every update, and cancels of running operations. */
export function operationChannels(prefix: string): { readonly main: string; readonly cancels: string } {
  return { main: `${prefix}:operations`, cancels: `${prefix}:operations:cancels` };
}

interface Sub {
  readonly filter: OperationEventFilter;
  readonly listener: OperationListener;
}

/**
 * `OperationEvents` over Redis pub/sub, across every API and worker process. Every update goes to
 * one channel; cancels of running operations also go to a small second channel, so a worker that
 * only needs cancels never receives the firehose. Each process holds one subscriber connection,
 * subscribes to a channel the first time a listener needs it, and dispatches locally, so watching
 * one more operation costs no round trip. ioredis re-subscribes after a reconnect; updates
 * published meanwhile are lost (at-most-once, as the port says).
 */
export function createRedisOperationEvents(deps: RedisOperationEventsDeps): RedisOperationEvents {
  const { redis, logger } = deps;
  const { main, cancels } = operationChannels(deps.prefix);
  const subs = new Set<Sub>();
  let sub: Redis | undefined = deps.subscriber;
  const owned = deps.subscriber === undefined;
  const joined = new Map<string, Promise<void>>();

  function dispatch(ch: string, message: string): void {
    const wantCancels = ch === cancels;
    if (!wantCancels && ch !== main) return;
    let op: Operation;
    try {
      const parsed = JSON.parse(message) as Operation | OperationRecord;
      // A store that publishes its writes sends whole records: listeners get the client view.
      op = 'cursor' in parsed ? toOperation(parsed) : parsed;
    } catch (err) {
      logger.warn({ err }, 'ignoring a malformed operation event');
      return;
    }
    for (const s of subs) {
      if ('cancels' in s.filter !== wantCancels || !matchesEventFilter(s.filter, op)) continue;
      try {
        s.listener(op);
      } catch (err) {
        logger.error({ err }, 'an operation listener threw');
      }
    }
  }

  function join(channel: string): Promise<void> {
    let p = joined.get(channel);
    if (p === undefined) {
      p = guarded('event bus', async () => {
        if (sub === undefined) {
          sub = redis.duplicate();
          watchConnection(sub, logger, 'operation-events');
        }
        if (!sub.listeners('message').includes(dispatch)) sub.on('message', dispatch);
        await sub.subscribe(channel);
      });
      joined.set(channel, p);
      p.catch(() => joined.delete(channel));
    }
    return p;
  }

  return {
    publish: (operation) =>
      guarded('event bus', async () => {
        const json = JSON.stringify(operation);
        await (isCancelOfRunning(operation) ? Promise.all([redis.publish(main, json), redis.publish(cancels, json)]) : redis.publish(main, json));
      }),

    async subscribe(filter, listener) {
      await join('cancels' in filter ? cancels : main);
      const s = { filter, listener };
      subs.add(s);
      return { unsubscribe: () => void subs.delete(s) };
    },

    async close() {
      subs.clear();
      const s = sub;
      joined.clear();
      if (s === undefined) return;
      s.off('message', dispatch);
      if (owned) {
        sub = undefined;
        await s.quit().catch(() => s.disconnect());
      } else {
        await s.unsubscribe(main, cancels).catch(() => undefined);
      }
    },
  };
}
