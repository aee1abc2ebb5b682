import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { makeProblem } from '../problem.js';
import { sendProblem } from './errors.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board under /admin/queues, for platform admins only (permission `queue.admin`; the token
 * comes in the Authorization header or, for a browser, the `labplane_token` cookie). Without
 * BullMQ (no Redis) the path answers 404 with the reason.
 */
export async function installQueueDashboard(app: FastifyInstance, queues: readonly unknown[]): Promise<void> {
  if (queues.length === 0) {
    app.get(`${QUEUE_DASHBOARD_PATH}`, { config: { permission: 'queue.admin' } }, async (_req, reply) =>
      sendProblem(reply, makeProblem(404, 'DASHBOARD_UNAVAILABLE', 'The queue dashboard needs Redis (REDIS_URL); jobs run in process.')),
    );
    return;
  }
  const serverAdapter = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q as ConstructorParameters<typeof BullMQAdapter>[0], { readOnlyMode: false })),
    serverAdapter,
  });
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  await app.register(
    async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { ...(route.config ?? {}), permission: 'queue.admin', cookieAuth: true };
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
