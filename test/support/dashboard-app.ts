import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { createBullmqTransport, type BullmqTransport } from '../../src/adapters/redis/bullmq-transport.js';
import { buildAppFromDeps } from '../../src/main/app-from-deps.js';
import { deletePrefix, recordingLogger, redisClient, REDIS_URL, testPrefix } from '../jobs/helpers.js';
import { startTestApp, type TestApp } from './test-app.js';

/** The embedded stack plus one BullMQ queue of its own (unique prefix) shown on the dashboard. */
export interface DashboardRig {
  readonly t: TestApp;
  readonly transport: BullmqTransport;
  readonly queueName: string;
  /** The app as configured by `env`, with the rig's queue on its dashboard. */
  readonly app: FastifyInstance;
  /** Bearer header values. */
  readonly tokens: { admin: string; member: string; integration: string };
  close(): Promise<void>;
}

export async function startDashboardRig(env: Record<string, string> = {}): Promise<DashboardRig> {
  const t = await startTestApp(env);
  const prefix = testPrefix();
  const queueName = `dash-${randomUUID().slice(0, 8)}`;
  const transport = createBullmqTransport({ url: REDIS_URL, prefix: `${prefix}:bull`, queueName, logger: recordingLogger() });
  // A registry of its own: the test app's already holds the HTTP metrics of its own app.
  const app = await buildAppFromDeps({ ...t.deps, metrics: new Registry(), jobs: { ...t.deps.jobs, dashboardQueues: [transport.queue] } });
  await app.ready();
  const tokens = {
    admin: await t.bearer({ sub: 'dash-admin', roles: ['platform-admin'] }),
    member: await t.bearer({ sub: 'dash-member', tenants: { cs101: 'member' } }),
    integration: await t.bearer({ sub: 'dash-lms', roles: ['labs.manage', 'read'], tenants: { cs101: 'owner' } }),
  };
  return {
    t,
    transport,
    queueName,
    app,
    tokens,
    async close() {
      await app.close();
      await transport.close();
      await t.close();
      const redis = redisClient();
      await deletePrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/** The token inside a bearer header value. */
export function tokenOf(bearer: string): string {
  return bearer.replace(/^Bearer /, '');
}
