import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../support/contract.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { bodyArbitrary, fromSchema } from './schema-arbitrary.js';

/**
 * Property: for every operation of the contract, generated requests (valid, invalid and hostile,
 * with injected fields) get a status the contract declares for that operation, never a 5xx, with
 * a body matching the declared schema; and a body carrying an injected field is never accepted.
 */
const contract = loadContract();
const RUNS_PER_OPERATION = Math.max(60, Math.ceil(1200 / contract.operations.length));
/** Statuses any route may answer whatever its declaration (auth, limits, transport). */
const ALWAYS = new Set([401, 413, 414, 415, 429]);

let t: TestApp;
let admin: string;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  admin = await t.bearer({ sub: 'fuzzer', roles: ['platform-admin'] });
  await request(t.app.server)
    .post('/v1/tenants')
    .set('authorization', admin)
    .send({ id: 'fuzz', displayName: 'Fuzz', profile: 'student', owners: [{ principalId: 'olga' }] });
});
afterAll(async () => {
  await t?.close();
});

let total = 0;

describe('hostile input over every operation', () => {
  // Operations the contract documents but other plugins serve (GraphQL, docs UI, dashboard) are
  // exercised by their own tests.
  for (const op of contract.operations.filter((o) => contract.operation(o.operationId)['x-no-fastify-config'] !== true)) {
    it(`${op.method.toUpperCase()} ${op.path} (${op.operationId}) answers only declared statuses, never 5xx`, async () => {
      const params = contract.parameters(op.operationId);
      const pathParams = params.filter((p) => p.in === 'path');
      const queryParams = params.filter((p) => p.in === 'query');
      const requestBody = contract.deref<any>(contract.operation(op.operationId)['requestBody']);
      const bodySchema = requestBody?.content?.['application/json']?.schema ?? requestBody?.content?.['application/merge-patch+json']?.schema;
      const pathArb = fc.record(
        Object.fromEntries(
          pathParams.map((p) => [
            p.name,
            fc
              .oneof(
                fromSchema(p.schema, contract.deref),
                fc.constantFrom('fuzz', 'kube-system', '..', '%2e%2e', 'a'.repeat(300)),
                fc.string({ minLength: 1 }),
              )
              .filter((v) => String(v).length > 0),
          ]),
        ),
      );
      const queryArb = fc.record(
        Object.fromEntries(queryParams.map((p) => [p.name, fc.oneof(fromSchema(p.schema, contract.deref), fc.string({ maxLength: 20 }))])),
        { requiredKeys: [] },
      );
      const bodyArb = bodySchema === undefined ? fc.constant({ body: undefined, injected: undefined }) : bodyArbitrary(bodySchema, contract.deref);
      await fc.assert(
        fc.asyncProperty(pathArb, queryArb, bodyArb, async (path, query, { body, injected }) => {
          total += 1;
          const url = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String((path as Record<string, unknown>)[name] ?? '')));
          const agent = request(t.app.server) as any;
          let req = agent[op.method](url)
            .set('authorization', admin)
            .query(query as object);
          if (body !== undefined) req = req.set('content-type', 'application/json').send(JSON.stringify(body));
          const res = await req;
          expect(res.status, `${op.operationId} ${url} → ${res.status} ${res.text.slice(0, 300)}`).toBeLessThan(500);
          if (injected !== undefined) expect(res.status, `${op.operationId} accepted injected field ${injected}`).toBeGreaterThanOrEqual(400);
          if (ALWAYS.has(res.status) || (res.status === 404 && res.body?.code === 'ROUTE_NOT_FOUND')) return;
          const v = contract.responseValidator(op.operationId, res.status);
          expect(v, `${op.operationId} answered undeclared ${res.status}: ${res.text.slice(0, 200)}`).toBeDefined();
          if (v !== undefined && v !== 'no-body' && res.text.length > 0) {
            expect(v(res.body), `${op.operationId} ${res.status} body ${JSON.stringify(v.errors)}`).toBe(true);
          }
        }),
        { numRuns: RUNS_PER_OPERATION, seed: Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000), endOnFailure: true },
      );
    }, 120_000);
  }

  it('ran at least 1,000 generated requests in all', () => {
    expect(total).toBeGreaterThanOrEqual(1000);
  });
});
