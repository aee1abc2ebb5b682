import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Largest form body (bytes) a route takes, below the parser's own limit (`x-fastify-config` in the contract). */
    formBodyLimit?: number;
  }
}

/**
 * Form posts (`application/x-www-form-urlencoded`) of browser pages: an LTI launch (`id_token`,
 * `state`), the admin sign-in, the LTI pages' actions. Enough for a signed launch token.
 */
export const FORM_BODY_LIMIT = 64 * 1024;

function tooLarge(): Error {
  return Object.assign(new Error('The form is larger than this route accepts.'), { statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
}

/**
 * Parses form bodies into an object of strings (the last of repeated names wins). URLSearchParams
 * is the WHATWG form decoder, so no dependency. A route takes only the types its contract lists
 * (see installMediaTypeGuard), so this parser opens no route to forms by itself. A route may set a
 * smaller limit (`formBodyLimit`).
 */
export function installFormBodies(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (request, body, done) => {
    const text = String(body);
    const limit = request.routeOptions.config.formBodyLimit;
    if (typeof limit === 'number' && Buffer.byteLength(text) > limit) {
      done(tooLarge(), undefined);
      return;
    }
    done(null, Object.fromEntries(new URLSearchParams(text)));
  });
}
