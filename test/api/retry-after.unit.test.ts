import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import type { OperationStatus } from '../../src/domain/operations/operation.js';
import { operationHandlers, retryAfterOf, RETRY_AFTER_SECONDS, sendAccepted } from '../../src/api/rest/operations.js';
import { anOperation } from '../contracts/operation-store.contract.js';
import { admin } from '../jobs/helpers.js';

const at = (status: OperationStatus, kind = 'vm.create') => ({ ...anOperation(1, { kind }), status });

/** A tiny app answering the operation routes from one record (a fake operation service). */
async function appWith(op: ReturnType<typeof at>) {
  const app = Fastify();
  app.addHook('onRequest', async (req) => {
    req.principal = admin;
  });
  const handlers = operationHandlers({ get: async () => op, list: async () => ({ items: [op] }), cancel: async () => op });
  app.get('/v1/operations/:operationId', handlers.getOperation);
  app.post('/start', async (_req, reply) => sendAccepted(reply, op));
  await app.ready();
  return app;
}

describe('Retry-After on operations', () => {
  it('is a small constant for an unfinished operation, longer for image imports, and absent once final', () => {
    expect(retryAfterOf(at('queued'))).toBe(RETRY_AFTER_SECONDS);
    expect(retryAfterOf(at('running'))).toBe(RETRY_AFTER_SECONDS);
    expect(retryAfterOf(at('running', 'image.import'))).toBe(10);
    for (const status of ['succeeded', 'failed', 'canceled'] as const) expect(retryAfterOf(at(status))).toBeUndefined();
  });

  it('a 202 that starts an operation and a read of an unfinished one carry it; a read of a finished one does not', async () => {
    const queued = await appWith(at('queued'));
    const started = await queued.inject({ method: 'POST', url: '/start' });
    expect(started.statusCode).toBe(202);
    expect(started.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    const read = await queued.inject({ method: 'GET', url: '/v1/operations/x' });
    expect(read.statusCode).toBe(200);
    expect(read.headers['retry-after']).toBe(String(RETRY_AFTER_SECONDS));
    expect(read.json()).toMatchObject({ status: 'queued' });
    await queued.close();

    const done = await appWith(at('succeeded'));
    const final = await done.inject({ method: 'GET', url: '/v1/operations/x' });
    expect(final.statusCode).toBe(200);
    expect(final.headers['retry-after']).toBeUndefined();
    await done.close();
  });
});
