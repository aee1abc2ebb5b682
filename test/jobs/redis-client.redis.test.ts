import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../src/adapters/redis/redis-connection.js';
import { recordingLogger, REDIS_URL } from './helpers.js';

const client = createRedisClient({ url: REDIS_URL, logger: recordingLogger() });
const prefix = `lp-client-${randomUUID().slice(0, 8)}`;
afterAll(async () => {
  const keys = await client.keys(`${prefix}:*`);
  if (keys.length > 0) await client.del(...keys);
  await client.quit();
});

describe('the commands client', () => {
  it('sends the commands issued in one event-loop turn as one pipeline, in order, each with its own answer', async () => {
    await client.ping();
    const answers = [client.set(`${prefix}:a`, '1'), client.incr(`${prefix}:a`), client.get(`${prefix}:a`), client.get(`${prefix}:missing`)];
    expect(client.autoPipelineQueueSize).toBe(4);
    expect(await Promise.all(answers)).toEqual(['OK', 2, '2', null]);
  });

  it('a failing command fails alone: the others of its pipeline answer', async () => {
    const [set, bad, get] = await Promise.allSettled([client.set(`${prefix}:b`, 'text'), client.incr(`${prefix}:b`), client.get(`${prefix}:b`)]);
    expect(set).toEqual({ status: 'fulfilled', value: 'OK' });
    expect(bad.status).toBe('rejected');
    expect(get).toEqual({ status: 'fulfilled', value: 'text' });
  });

  it('its duplicate subscribes (SUBSCRIBE is never pipelined) and hears what the client publishes', async () => {
    const sub = client.duplicate();
    try {
      const heard = new Promise<string>((resolve) => sub.on('message', (_channel: string, message: string) => resolve(message)));
      await sub.subscribe(`${prefix}:channel`);
      await client.publish(`${prefix}:channel`, 'hello');
      expect(await heard).toBe('hello');
    } finally {
      sub.disconnect();
    }
  });
});
