import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../domain/shared/error-codes.js';
import { currentTraceId } from '../tracing.js';
import { makeProblem, PROBLEM_CONTENT_TYPE, retryAfterOf, toProblem, type Problem } from '../problem.js';

export function sendProblem(reply: FastifyReply, problem: Problem, headers: Record<string, string> = {}): FastifyReply {
  const traceId = currentTraceId();
  const body: Problem = {
    ...problem,
    instance: reply.request.url.split('?')[0] ?? '/',
    requestId: String(reply.request.id),
    ...(traceId === undefined ? {} : { traceId }),
  };
  // Lets the audit hook record the code of a refused mutation without parsing the body.
  reply.header('x-problem-code', problem.code);
  for (const [k, v] of Object.entries(headers)) reply.header(k, v);
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).serializer(JSON.stringify).send(body);
}

/**
 * Answers `err` as problem+json; 5xx never carry internals (they are logged instead). The app's
 * error handler, and the one of routes whose plugin installs its own (bull-board).
 */
export function replyWithError(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(err);
  const headers: Record<string, string> = {};
  if (problem.status >= 500) {
    request.log.error({ err }, 'request failed');
  } else {
    request.log.info({ code: problem.code, status: problem.status }, 'request refused');
  }
  const retryAfter = retryAfterOf(err) ?? (problem.status === 503 || problem.status === 429 ? 5 : undefined);
  if (retryAfter !== undefined && reply.getHeader('retry-after') === undefined) headers['retry-after'] = String(retryAfter);
  // RFC 6750 §3.1: no error code when the request carried no credentials at all.
  if (problem.status === 401)
    headers['www-authenticate'] =
      request.headers.authorization === undefined ? 'Bearer realm="labplane"' : 'Bearer realm="labplane", error="invalid_token"';
  return sendProblem(reply, problem, headers);
}

/** One place maps every error to problem+json. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(replyWithError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, makeProblem('ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`)),
  );
}

const CLIENT_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  HPE_HEADER_OVERFLOW: ['HEADERS_TOO_LARGE', 'The request line and headers are larger than the server accepts (16 KiB).'],
  ERR_HTTP_REQUEST_TIMEOUT: ['REQUEST_TIMEOUT', 'The request was not received in time.'],
};

/**
 * Node's HTTP parser refuses some requests before fastify sees them (headers over the size limit,
 * a request too slow to arrive, bytes that are not HTTP); they are answered as problem+json too,
 * on the raw socket, which is then closed.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, detail] = CLIENT_ERRORS[err.code ?? ''] ?? ['BAD_REQUEST', 'The request is not valid HTTP.'];
  const problem = makeProblem(code, detail);
  const { status, title: reason } = problem;
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
