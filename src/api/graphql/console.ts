import type { ConsoleService, ConsoleType } from '../../domain/vms/console.js';
import { consoleTicketDto } from '../rest/console.js';
import { requirePrincipal, type GraphQLContext } from './context.js';

/** Console tickets over the same use case as REST. */
export const consoleTypeDefs = /* GraphQL */ `
  enum ConsoleType {
    vnc
    serial
  }
  "A single-use ticket that opens one console of a running VM for a minute (open url, or the websocket at websocketPath)."
  type ConsoleTicket {
    ticket: String!
    type: ConsoleType!
    "ISO 8601."
    expiresAt: String!
    "The console page, with the ticket in its fragment."
    url: String!
    "The websocket (subprotocol-free, binary frames) for clients of their own."
    websocketPath: String!
  }

  extend type Mutation {
    "The VM's owner, tenant owners, the instructors of its lab, platform admins. 409 ACTION_NOT_ALLOWED unless it runs, CONSOLE_LIMIT_REACHED at the caps."
    createConsoleTicket(tenant: ID!, vm: ID!, type: ConsoleType!): ConsoleTicket!
  }
`;

export function consoleResolvers(consoles: ConsoleService, publicUrl: string | undefined) {
  return {
    Mutation: {
      createConsoleTicket: async (_: unknown, a: { tenant: string; vm: string; type: ConsoleType }, ctx: GraphQLContext) =>
        consoleTicketDto(await consoles.issue(requirePrincipal(ctx), a.tenant, a.vm, a.type), publicUrl),
    },
  };
}
