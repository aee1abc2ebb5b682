import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog, NewAuditEvent } from '../../domain/audit/audit.js';
import type { Principal } from '../../domain/auth/principal.js';
import { addRouteHook, routeAnswers } from './route-hooks.js';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Path parameters that name what a route acts on, most specific first. */
const TARGET_PARAMS: ReadonlyArray<readonly [string, string]> = [
  ['operationId', 'operation'],
  ['principalId', 'member'],
  ['snapshot', 'snapshot'],
  ['vm', 'vm'],
  ['image', 'image'],
  ['lab', 'lab'],
  ['node', 'node'],
  ['id', 'resource'],
  ['tenant', 'tenant'],
];

export interface AuditRecorder {
  record(
    request: FastifyRequest,
    event: Omit<NewAuditEvent, 'at' | 'actor' | 'onBehalfOf' | 'method' | 'path' | 'requestId'>,
    principal: Principal,
  ): void;
}

/**
 * Every mutation leaves an audit event: on the log stream (`audit: true`) and in the queryable
 * audit log. Writing the event never changes or delays the answer (errors are logged).
 */
export function createAuditRecorder(log: AuditLog): AuditRecorder {
  return {
    record(request, partial, principal) {
      const event: NewAuditEvent = {
        at: new Date().toISOString(),
        actor: { id: principal.id, kind: principal.kind, name: principal.name },
        ...(principal.onBehalfOf === undefined ? {} : { onBehalfOf: principal.onBehalfOf }),
        method: request.method,
        path: request.url.split('?')[0] ?? '/',
        requestId: String(request.id),
        ...partial,
      };
      request.log.info({ audit: true, event }, 'audit');
      log.append(event).catch((err: unknown) => request.log.error({ err, event }, 'audit event not stored'));
    },
  };
}

/** REST mutations: one event per request, after the answer is sent (the hook is on mutating routes only). */
export function installRestAudit(app: FastifyInstance, recorder: AuditRecorder): void {
  addRouteHook(
    app,
    'onResponse',
    (route) => routeAnswers(route, MUTATING),
    async (request: FastifyRequest, reply: FastifyReply) => {
      if (!MUTATING.has(request.method) || request.principal === undefined || request.is404) return;
      const action = (request.routeOptions.schema as { operationId?: unknown } | undefined)?.operationId;
      if (typeof action !== 'string') return;
      const params = (request.params ?? {}) as Record<string, unknown>;
      const createdId = action === 'createTenant' ? (request.body as { id?: unknown } | undefined)?.id : undefined;
      const tenant = typeof params['tenant'] === 'string' ? params['tenant'] : typeof createdId === 'string' ? createdId : undefined;
      const hit = TARGET_PARAMS.find(([p]) => typeof params[p] === 'string');
      const code = reply.getHeader('content-type')?.toString().startsWith('application/problem+json') ? reply.getHeader('x-problem-code') : undefined;
      recorder.record(
        request,
        {
          action,
          ...(tenant === undefined ? {} : { tenant }),
          ...(hit === undefined ? {} : { target: { type: hit[1], id: String(params[hit[0]]) } }),
          result: { status: reply.statusCode, ...(typeof code === 'string' ? { code } : {}) },
        },
        request.principal,
      );
    },
  );
}
