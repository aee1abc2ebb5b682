import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  coursePage,
  coursesPage,
  deepLinkDonePage,
  errorPage,
  formPostPage,
  SIM_AUTOSUBMIT_JS,
  SIM_AUTOSUBMIT_PATH,
  SIM_CSS,
  SIM_CSS_PATH,
  simCsp,
} from './pages.js';
import { SIM_LMS_PATH, SimLmsRefusal, type SimAnswer, type SimLms } from './sim-lms.js';

export interface SimLmsPluginOptions {
  readonly lms: SimLms;
}

const FORM_BODY_LIMIT = 128 * 1024;
const FORM = 'application/x-www-form-urlencoded';

type Params = Record<string, string | undefined>;

function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

function flat(input: unknown): Params {
  const out: Params = {};
  if (typeof input !== 'object' || input === null) return out;
  for (const [k, v] of Object.entries(input)) if (typeof v === 'string') out[k] = v;
  return out;
}

function originOfUrl(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "'none'";
  }
}

function sendHtml(reply: FastifyReply, status: number, html: string, formAction: readonly string[] = []): FastifyReply {
  return reply
    .code(status)
    .header('content-security-policy', simCsp(formAction))
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(html);
}

function sendAnswer(reply: FastifyReply, a: SimAnswer): FastifyReply {
  reply.code(a.status);
  for (const [k, v] of Object.entries(a.headers ?? {})) reply.header(k, v);
  if (a.kind === 'json' && !reply.hasHeader('content-type')) reply.type('application/json; charset=utf-8');
  if (a.kind === 'text' && !reply.hasHeader('content-type')) reply.type('text/plain; charset=utf-8');
  return reply.send(a.body);
}

/**
 * The simulated LMS's routes under `/sim/lms` (mount only in the embedded default):
 * - `GET /sim/lms`, `GET /sim/lms/courses/:id`: course list and course page with launch buttons
 *   (each a GET form to the tool's `/lti/login`, i.e. third-party initiated login);
 * - `GET|POST /sim/lms/auth`: OIDC authorization endpoint (answers a form_post of the id_token);
 * - `POST /sim/lms/deep-link-return`: Deep Linking response (form field `JWT`);
 * - `POST /sim/lms/token`: OAuth 2 client credentials with a JWT client assertion (RFC 7523);
 * - `GET /sim/lms/courses/:id/memberships`: NRPS 2.0;
 * - `GET /sim/lms/jwks`: the LMS's public keys.
 * The LMS's origin is `lms.baseUrl()` when set, otherwise the request's own origin.
 */
export async function simLmsPlugin(app: FastifyInstance, options: SimLmsPluginOptions): Promise<void> {
  const { lms } = options;
  const h = lms.handlers;
  await app.register(async (scope) => {
    if (!scope.hasContentTypeParser(FORM)) {
      scope.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_req, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(String(body))));
      });
    }
    scope.setErrorHandler(async (err, request, reply) => {
      if (err instanceof SimLmsRefusal) return sendHtml(reply, err.status, errorPage('Request refused', err.message));
      const status = typeof (err as { statusCode?: unknown }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
      if (status < 500) return sendHtml(reply, status, errorPage('Request refused', 'The request could not be handled as sent.'));
      request.log.error({ err }, 'simulated LMS failed');
      return sendHtml(reply, 500, errorPage('Something went wrong', 'The simulated LMS failed to handle this request.'));
    });
    const config = { permission: 'public' as const };

    scope.get(SIM_LMS_PATH, { config }, async (_request, reply) => sendHtml(reply, 200, coursesPage(lms.courses())));
    scope.get(SIM_CSS_PATH, { config }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('text/css; charset=utf-8').send(SIM_CSS),
    );
    scope.get(SIM_AUTOSUBMIT_PATH, { config }, async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=3600').type('text/javascript; charset=utf-8').send(SIM_AUTOSUBMIT_JS),
    );
    scope.get(`${SIM_LMS_PATH}/jwks`, { config }, async (_request, reply) =>
      reply
        .header('cache-control', 'public, max-age=300')
        .type('application/json; charset=utf-8')
        .send(await lms.jwks()),
    );

    scope.get<{ Params: { id: string } }>(`${SIM_LMS_PATH}/courses/:id`, { config }, async (request, reply) => {
      const course = lms.course(request.params.id);
      if (course === undefined) return sendHtml(reply, 404, errorPage('No such course', 'This course does not exist.'));
      const origin = originOf(request);
      return sendHtml(
        reply,
        200,
        coursePage(course, (m) => h.buttons(origin, course, m)),
        [originOfUrl(lms.toolConfig(origin).loginUrl)],
      );
    });

    const authorize = async (request: FastifyRequest, reply: FastifyReply, params: Params) => {
      const answer = await h.authorize(originOf(request), params);
      const fields: Record<string, string> = { id_token: answer.idToken, ...(answer.state === undefined ? {} : { state: answer.state }) };
      return sendHtml(reply, 200, formPostPage(answer.redirectUri, fields), [originOfUrl(answer.redirectUri)]);
    };
    scope.get(`${SIM_LMS_PATH}/auth`, { config }, async (request, reply) => authorize(request, reply, flat(request.query)));
    scope.post(`${SIM_LMS_PATH}/auth`, { config, bodyLimit: FORM_BODY_LIMIT }, async (request, reply) =>
      authorize(request, reply, flat(request.body)),
    );

    scope.post(`${SIM_LMS_PATH}/deep-link-return`, { config, bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
      const result = await h.deepLinkReturn(originOf(request), flat(request.body).JWT);
      return sendHtml(reply, 200, deepLinkDonePage(result.course, result.placed, result.msg, result.errormsg));
    });

    scope.post(`${SIM_LMS_PATH}/token`, { config, bodyLimit: FORM_BODY_LIMIT }, async (request, reply) => {
      if (!String(request.headers['content-type'] ?? '').startsWith(FORM)) {
        return sendAnswer(reply, {
          status: 400,
          kind: 'json',
          headers: { 'cache-control': 'no-store' },
          body: JSON.stringify({ error: 'invalid_request', error_description: `The body must be ${FORM}.` }),
        });
      }
      return sendAnswer(reply, await h.token(originOf(request), flat(request.body)));
    });

    scope.get<{ Params: { id: string } }>(`${SIM_LMS_PATH}/courses/:id/memberships`, { config }, async (request, reply) =>
      sendAnswer(reply, h.memberships(originOf(request), request.params.id, request.headers.authorization, flat(request.query))),
    );
  });
}
