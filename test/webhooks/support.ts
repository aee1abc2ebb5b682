import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { makePrincipal, type Principal } from '../../src/domain/auth/principal.js';
import type { Operation } from '../../src/domain/operations/operation.js';
import { loadWebhookEventSchemas, type WebhookEventSchemas } from '../support/webhook-event-schemas.js';

/** One request a receiver got. */
export interface Received {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A webhook receiver on 127.0.0.1 (a real node:http server) answering with `answer(n)` for the n-th request (1-based). */
export interface Receiver {
  readonly port: number;
  readonly origin: string;
  readonly received: Received[];
  answer: (n: number, req: Received) => number;
  close(): Promise<void>;
}

export async function startReceiver(answer: (n: number, req: Received) => number = () => 204): Promise<Receiver> {
  const received: Received[] = [];
  const r: { answer: Receiver['answer'] } = { answer };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const got: Received = { method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(got);
      const status = r.answer(received.length, got);
      res.writeHead(status, status >= 300 && status < 400 ? { location: 'http://127.0.0.1:1/elsewhere' } : {});
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    received,
    get answer() {
      return r.answer;
    },
    set answer(fn) {
      r.answer = fn;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let schemas: WebhookEventSchemas | undefined;

/**
 * Verifies a received delivery with the `standardwebhooks` package and checks its body against the
 * payload schema the contract publishes for its type (`webhooks:` in the OpenAPI document); returns
 * the parsed body. Throws when the signature is wrong or the body is not what the contract says, so
 * every test that receives a real delivery also checks it against the contract.
 */
export function verified(secret: string, got: Received): Record<string, any> {
  const body = new StandardWebhook(secret).verify(got.body, got.headers) as Record<string, any>;
  schemas ??= loadWebhookEventSchemas();
  const errors = schemas.errors(String(body['type']), body);
  if (errors.length > 0) throw new Error(`the ${String(body['type'])} delivery does not match its schema in the contract: ${errors.join('; ')}`);
  return body;
}

export { eventually } from '../support/eventually.js';

/** Overrides of an operation; `undefined` removes the field. */
export type OperationOverrides = { [K in keyof Operation]?: Operation[K] | undefined };

/** A finished operation (Object Mother): succeeded `vm.create` in tenant `t1` unless told otherwise. */
export function anOperation(over: OperationOverrides = {}): Operation {
  const op: Record<string, unknown> = {
    id: '5d0c6f1e-8a57-4f0e-9c59-2b7f0a3c9d11',
    kind: 'vm.create',
    tenant: 't1',
    target: { type: 'vm', id: 't1/vm-1', name: 'vm-1' },
    status: 'succeeded',
    progress: { percent: 100 },
    attempts: 1,
    createdAt: '2025-03-01T10:00:00.000Z',
    updatedAt: '2025-03-01T10:02:00.000Z',
    startedAt: '2025-03-01T10:00:01.000Z',
    finishedAt: '2025-03-01T10:02:00.000Z',
    result: { tenant: 't1', name: 'vm-1', id: 'abc', state: 'Running' },
    createdBy: 'olga',
    ownerId: 'stud-1',
    cancelRequested: false,
    ...over,
  };
  for (const [k, v] of Object.entries(op)) if (v === undefined) delete op[k];
  return op as unknown as Operation;
}

export const owner = (tenant: string): Principal => makePrincipal({ id: 'olga', tenantRoles: [[tenant, 'owner']] });
