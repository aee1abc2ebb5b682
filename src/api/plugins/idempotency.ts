import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { addRouteHook, routeAnswers } from './route-hooks.js';
import type { JsonValue } from '../../domain/operations/operation.js';
import type { IdempotencyScope, IdempotencyStore } from '../../domain/operations/idempotency-store.js';
import { ConflictError, UnprocessableError, ValidationError } from '../../domain/shared/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: { scope: IdempotencyScope; key: string } | undefined;
  }
}

const POST: ReadonlySet<string> = new Set(['POST']);
const KEY = /^[\x21-\x7e]{1,200}$/;
/** Headers of the first answer that a replay repeats. */
const REPLAYED_HEADERS = ['content-type', 'location', 'operation-location', 'etag', 'retry-after'];

/** Canonical JSON (keys sorted) so the same body hashes the same whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function scopeOf(request: FastifyRequest, principalId: string): IdempotencyScope {
  return { principalId, method: request.method, path: request.url.split('?')[0] ?? '/' };
}

/**
 * A secret shown once (a webhook's signing secret) is never kept with the stored answer: the store
 * is not a secret store, and a replay answers without it (the client deletes and registers again).
 */
function withoutSecret(body: JsonValue): JsonValue {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('secret' in body)) return body;
  const { secret: _secret, ...rest } = body as Record<string, JsonValue>;
  return rest;
}

/**
 * `Idempotency-Key` on every POST (hooks on POST routes only): the first answer (status, key headers, body) is stored per
 * caller and path; a replay returns it with `Idempotent-Replayed: true`; the same key with another
 * body is 422; while the first request is still being handled, 409. 5xx answers are not stored,
 * so a client may retry them with the same key.
 */
export function installIdempotency(app: FastifyInstance, store: IdempotencyStore): void {
  app.decorateRequest('idempotency', undefined);
  const onPost = (route: RouteOptions) => routeAnswers(route, POST);
  addRouteHook(app, 'preHandler', onPost, async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method !== 'POST') return;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return;
    if (typeof key !== 'string' || !KEY.test(key)) {
      throw new ValidationError('Idempotency-Key must be 1-200 visible ASCII characters.', [
        { field: '/idempotency-key', in: 'header', message: 'invalid' },
      ]);
    }
    const scope = scopeOf(request, request.principal?.id ?? `anonymous:${request.ip}`);
    const hash = createHash('sha256')
      .update(canonical(request.body ?? null))
      .digest('hex');
    const begun = await store.begin(scope, key, hash);
    if (begun.state === 'mismatch') {
      throw new UnprocessableError('IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used with a different request body.');
    }
    if (begun.state === 'in_progress') {
      throw new ConflictError('IDEMPOTENCY_KEY_IN_PROGRESS', 'The first request with this Idempotency-Key is still being handled; retry shortly.');
    }
    if (begun.state === 'replay') {
      const r = begun.response;
      for (const [h, v] of Object.entries(r.headers)) reply.header(h, v);
      reply.header('idempotent-replayed', 'true');
      await reply.code(r.status).send(r.body === null ? undefined : JSON.stringify(r.body));
      return reply;
    }
    request.idempotency = { scope, key };
  });
  addRouteHook(app, 'onSend', onPost, async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const idem = request.idempotency;
    if (idem === undefined) return payload;
    request.idempotency = undefined;
    try {
      if (reply.statusCode >= 500) {
        await store.abandon(idem.scope, idem.key);
        return payload;
      }
      const headers: Record<string, string> = {};
      for (const h of REPLAYED_HEADERS) {
        const v = reply.getHeader(h);
        if (typeof v === 'string') headers[h] = v;
      }
      let body: JsonValue = null;
      if (typeof payload === 'string' && payload.length > 0) {
        try {
          body = JSON.parse(payload) as JsonValue;
        } catch {
          body = payload;
        }
      }
      await store.complete(idem.scope, idem.key, { status: reply.statusCode, headers, body: withoutSecret(body) });
    } catch (err) {
      request.log.warn({ err }, 'could not record the idempotent answer; a replay will run the request again');
    }
    return payload;
  });
}
