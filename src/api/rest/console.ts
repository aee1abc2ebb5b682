import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleService, ConsoleType, IssuedTicket } from '../../domain/vms/console.js';
import { CONSOLE_SOCKET_PREFIX } from '../console/proxy.js';
import { SERIAL_PAGE_PATH, VNC_PAGE_PATH } from '../console/pages.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';

type Schemas = components['schemas'];

/**
 * The wire shape of a ticket: the page to open (the ticket in its fragment, so it never reaches a
 * server log or a Referer) and the websocket path for clients of their own. Absolute with PUBLIC_URL.
 */
export function consoleTicketDto(t: IssuedTicket, publicUrl: string | undefined): Schemas['ConsoleTicket'] {
  const origin = publicUrl?.replace(/\/+$/, '') ?? '';
  const page = t.type === 'vnc' ? VNC_PAGE_PATH : SERIAL_PAGE_PATH;
  return {
    ticket: t.ticket,
    type: t.type,
    expiresAt: t.expiresAt,
    url: `${origin}${page}#ticket=${t.ticket}`,
    websocketPath: `${CONSOLE_SOCKET_PREFIX}${t.ticket}`,
  };
}

/** REST handler of the console ticket. */
export function consoleHandlers(consoles: ConsoleService, publicUrl: string | undefined) {
  return {
    async createConsoleTicket(req: FastifyRequest<{ Params: { tenant: string; vm: string }; Body: { type: ConsoleType } }>, reply: FastifyReply) {
      const issued = await consoles.issue(principalOf(req), req.params.tenant, req.params.vm, req.body.type);
      return reply.code(201).header('cache-control', 'no-store').send(consoleTicketDto(issued, publicUrl));
    },
  };
}
