import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import { graphqlRuntime } from '../graphql/graphql-runtime.js';
import { GRAPHIQL_ASSET_PREFIX, GRAPHIQL_HTML, GRAPHIQL_INIT_JS, GRAPHIQL_PAGE_CSS, GRAPHIQL_SCHEMA_PATH } from '../graphql/graphiql/page.js';

const requireFrom = createRequire(import.meta.url);

const { introspectionFromSchema } = graphqlRuntime;

function packageDir(name: string): string {
  return dirname(requireFrom.resolve(`${name}/package.json`));
}

/** A file the page loads out of an installed npm package (pinned in package.json). */
interface VendorFile {
  /** Name under GRAPHIQL_ASSET_PREFIX. */
  readonly name: string;
  readonly pkg: string;
  /** Path inside the package. */
  readonly file: string;
}

/** GraphiQL 3's UMD build expects React 18 and ReactDOM 18 as globals. */
export const GRAPHIQL_VENDOR_FILES: readonly VendorFile[] = [
  { name: 'react.production.min.js', pkg: 'react', file: 'umd/react.production.min.js' },
  { name: 'react-dom.production.min.js', pkg: 'react-dom', file: 'umd/react-dom.production.min.js' },
  { name: 'graphiql.min.js', pkg: 'graphiql', file: 'graphiql.min.js' },
  { name: 'graphiql.min.css', pkg: 'graphiql', file: 'graphiql.min.css' },
];

/**
 * The page's CSP (over helmet's defaults, like the app's): scripts only as files from this origin.
 * Styles need 'unsafe-inline': GraphiQL's dialogs lock scrolling by injecting a <style> element
 * (react-remove-scroll) with computed sizes, so no hash fits, and the UMD build offers no way to
 * give it a nonce. Fonts are the data: URLs inside graphiql.min.css; nothing from https: at all.
 */
export const GRAPHIQL_CSP_DIRECTIVES = {
  'script-src': ["'self'"],
  'style-src': ["'self'", "'unsafe-inline'"],
  'font-src': ["'self'", 'data:'],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
};

const OWN_FILES: ReadonlyArray<{ name: string; type: string; body: string }> = [
  { name: 'init.js', type: 'text/javascript; charset=utf-8', body: GRAPHIQL_INIT_JS },
  { name: 'page.css', type: 'text/css; charset=utf-8', body: GRAPHIQL_PAGE_CSS },
];

/**
 * GraphiQL at `/graphiql`, served entirely from this origin: the page, our start script and the
 * vendor builds out of node_modules, so it works offline and under `script-src 'self'`. Only the
 * fixed files above are routed; @fastify/static does the file serving (ETag, Last-Modified,
 * conditional requests, HEAD) with `serve: false`, so nothing else in node_modules is reachable.
 * The caller decides who gets the page (today: dev mode only).
 *
 * The page takes the schema from GRAPHIQL_SCHEMA_PATH rather than by POSTing GraphiQL's
 * introspection query: that query nests `ofType` about 15 deep, past the depth limit every
 * /graphql request is held to, and the limit stays as it is.
 */
export async function installGraphiQLPage(app: FastifyInstance, opts: { schema: () => GraphQLSchema }): Promise<void> {
  let introspection: string | undefined;
  const roots = new Map(GRAPHIQL_VENDOR_FILES.map((f) => [f.pkg, packageDir(f.pkg)]));
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: [...new Set(roots.values())], serve: false, dotfiles: 'deny' });
    scope.get(
      '/graphiql',
      { schema: { hide: true }, config: { securityHeaders: { contentSecurityPolicy: { directives: GRAPHIQL_CSP_DIRECTIVES } } } },
      async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(GRAPHIQL_HTML),
    );
    scope.get(GRAPHIQL_SCHEMA_PATH, { schema: { hide: true } }, async (_request, reply) => {
      introspection ??= JSON.stringify({ data: introspectionFromSchema(opts.schema()) });
      return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(introspection);
    });
    for (const own of OWN_FILES) {
      scope.get(`${GRAPHIQL_ASSET_PREFIX}/${own.name}`, { schema: { hide: true } }, async (_request, reply) =>
        reply.type(own.type).header('cache-control', 'no-cache').send(own.body),
      );
    }
    for (const vendor of GRAPHIQL_VENDOR_FILES) {
      const root = roots.get(vendor.pkg) ?? packageDir(vendor.pkg);
      scope.get(`${GRAPHIQL_ASSET_PREFIX}/${vendor.name}`, { schema: { hide: true } }, async (_request, reply) => reply.sendFile(vendor.file, root));
    }
  });
}
