import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import {
  CONSOLE_ASSET_PREFIX,
  CONSOLE_CSP_DIRECTIVES,
  CONSOLE_CSS,
  SERIAL_HTML,
  SERIAL_JS,
  SERIAL_PAGE_PATH,
  VNC_HTML,
  VNC_JS,
  VNC_PAGE_PATH,
} from './pages.js';
import { registerConsoleProxy, type ConsoleProxyOptions } from './proxy.js';

const requireFrom = createRequire(import.meta.url);

function packageDir(name: string): string {
  return dirname(requireFrom.resolve(`${name}/package.json`));
}

/** noVNC is served as the ES modules it ships (core/ and its vendored pako); nothing else of the package. */
const NOVNC_PATHS = /^\/(core|vendor\/pako\/lib)\/[A-Za-z0-9_/.-]+\.js$/;

const OWN_FILES: ReadonlyArray<{ path: string; type: string; body: string }> = [
  { path: `${CONSOLE_ASSET_PREFIX}/vnc.js`, type: 'text/javascript; charset=utf-8', body: VNC_JS },
  { path: `${CONSOLE_ASSET_PREFIX}/serial.js`, type: 'text/javascript; charset=utf-8', body: SERIAL_JS },
  { path: `${CONSOLE_ASSET_PREFIX}/console.css`, type: 'text/css; charset=utf-8', body: CONSOLE_CSS },
];

/**
 * The browser console: its websocket proxy (`/v1/console/{ticket}`) and its pages from this
 * origin (`/console/vnc`, `/console/serial`), with noVNC and xterm.js out of node_modules (pinned
 * in package.json), no CDN. The pages are public (they hold nothing); the ticket opens the console.
 */
export async function installConsoleRoutes(app: FastifyInstance, opts: ConsoleProxyOptions): Promise<void> {
  registerConsoleProxy(app, opts);
  // noVNC exports only core/rfb.js (not its package.json): its root is two levels up.
  const novnc = dirname(dirname(requireFrom.resolve('@novnc/novnc')));
  const xterm = packageDir('@xterm/xterm');
  const securityHeaders = { contentSecurityPolicy: { directives: CONSOLE_CSP_DIRECTIVES } };
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root: [novnc, xterm], serve: false, dotfiles: 'deny' });
    const config = { permission: 'public' as const, securityHeaders };
    for (const [path, html] of [
      [VNC_PAGE_PATH, VNC_HTML],
      [SERIAL_PAGE_PATH, SERIAL_HTML],
    ] as const) {
      scope.get(path, { schema: { hide: true }, config }, async (_request, reply) =>
        reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html),
      );
    }
    for (const own of OWN_FILES) {
      scope.get(own.path, { schema: { hide: true }, config }, async (_request, reply) =>
        reply.type(own.type).header('cache-control', 'no-cache').send(own.body),
      );
    }
    scope.get(`${CONSOLE_ASSET_PREFIX}/xterm/xterm.mjs`, { schema: { hide: true }, config }, async (_request, reply) =>
      reply.type('text/javascript; charset=utf-8').sendFile('lib/xterm.mjs', xterm),
    );
    scope.get(`${CONSOLE_ASSET_PREFIX}/xterm/xterm.css`, { schema: { hide: true }, config }, async (_request, reply) =>
      reply.sendFile('css/xterm.css', xterm),
    );
    scope.get<{ Params: { '*': string } }>(`${CONSOLE_ASSET_PREFIX}/novnc/*`, { schema: { hide: true }, config }, async (request, reply) => {
      const file = `/${request.params['*']}`;
      if (!NOVNC_PATHS.test(file) || file.includes('..')) return reply.callNotFound();
      return reply.type('text/javascript; charset=utf-8').sendFile(file.slice(1), novnc);
    });
  });
}
