import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { registerContractRoutes } from '../../src/api/contract-routes.js';
import type { OpenApiDocument } from '../../src/api/openapi-spec.js';

// A small contract: one operation with a path parameter, a query and a response schema, one with a
// body, one that no module handles.
const doc: OpenApiDocument = Object.freeze({
  openapi: '3.1.0',
  info: { title: 't', version: '1' },
  paths: {
    '/things/{name}': {
      get: {
        operationId: 'getThing',
        parameters: [
          { name: 'name', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z]+$', description: 'documentation only' } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10 } },
        ],
        responses: {
          '200': {
            description: 'ok',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { name: { type: 'string' }, limit: { type: 'integer' } }, required: ['name'] },
              },
            },
          },
        },
      },
    },
    '/things': {
      post: {
        operationId: 'createThing',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } } },
        },
        responses: { '201': { description: 'created' } },
      },
      get: { operationId: 'listThings', responses: { '200': { description: 'ok' } } },
    },
  },
}) as OpenApiDocument;

function handlersFor(label: string) {
  return {
    label,
    getThing(this: { label: string }, req: { params: { name: string }; query: { limit?: number } }) {
      // Undeclared fields are left out by the response schema's serializer.
      return { name: `${this.label}:${req.params.name}`, limit: req.query.limit, secret: 'never serialized' };
    },
    async createThing(req: { body: { name: string } }, reply: { code(n: number): { send(b: unknown): unknown } }) {
      return reply.code(201).send({ created: req.body.name });
    },
  };
}

async function appFor(label: string) {
  const app = Fastify({ logger: false });
  await registerContractRoutes(app, doc, handlersFor(label));
  await app.ready();
  return app;
}

describe('the contract routes, made once and registered per app', () => {
  it('serve each operation with its own app handlers, `this` being the handlers object', async () => {
    const a = await appFor('a');
    const b = await appFor('b');
    const ra = await a.inject({ method: 'GET', url: '/things/one?limit=3' });
    const rb = await b.inject({ method: 'GET', url: '/things/two' });
    expect(ra.statusCode).toBe(200);
    expect(ra.json()).toEqual({ name: 'a:one', limit: 3 });
    expect(rb.json()).toEqual({ name: 'b:two' });
    const created = await b.inject({ method: 'POST', url: '/things', payload: { name: 'x' } });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toEqual({ created: 'x' });
    await a.close();
    await b.close();
  });

  it("validate parameters and bodies by the contract's schemas in every app", async () => {
    for (const label of ['first', 'second']) {
      const app = await appFor(label);
      expect((await app.inject({ method: 'GET', url: '/things/UPPER' })).statusCode).toBe(400);
      expect((await app.inject({ method: 'GET', url: '/things/ok?limit=11' })).statusCode).toBe(400);
      expect((await app.inject({ method: 'POST', url: '/things', payload: { other: 1 } })).statusCode).toBe(400);
      await app.close();
    }
  });

  it('answer an operation no handler serves with an error, as openapi-glue does', async () => {
    const app = await appFor('c');
    const res = await app.inject({ method: 'GET', url: '/things' });
    expect(res.statusCode).toBe(500);
    expect(res.json().message).toBe('Operation listThings not implemented');
    await app.close();
  });
});
