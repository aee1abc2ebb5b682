import type { LtiRegistrationService } from '../../domain/lti/registration-service.js';
import type { LtiRegistration, LtiRegistrationInput } from '../../domain/lti/registration.js';
import { requirePrincipal, type GraphQLContext } from './context.js';

/** LTI 1.3 platform registrations over the same use cases as REST. */
export const ltiTypeDefs = /* GraphQL */ `
  "A tenant's registration of an LTI 1.3 platform (an LMS) that launches labplane."
  type LtiRegistration {
    id: ID!
    tenant: ID!
    displayName: String
    "The platform's issuer (iss of its id_tokens)."
    issuer: String!
    "The client id the platform gave labplane."
    clientId: String!
    deploymentIds: [String!]!
    authLoginUrl: String!
    accessTokenUrl: String!
    jwksUrl: String!
    createdAt: String!
    createdBy: String!
    "Opaque version: pass it as ifMatch to update without losing another change."
    version: String!
  }

  input LtiRegistrationInput {
    displayName: String
    issuer: String!
    clientId: String!
    deploymentIds: [String!]!
    authLoginUrl: String!
    accessTokenUrl: String!
    jwksUrl: String!
  }

  extend type Query {
    "The tenant's LTI platform registrations, oldest first (tenant owners)."
    ltiRegistrations(tenant: ID!): [LtiRegistration!]!
    ltiRegistration(tenant: ID!, id: ID!): LtiRegistration!
  }

  extend type Mutation {
    "Registers an LTI 1.3 platform; (issuer, clientId) may be registered once across the service."
    createLtiRegistration(tenant: ID!, input: LtiRegistrationInput!): LtiRegistration!
    "Replaces a registration's fields. ifMatch: its version; a stale one is refused (VERSION_MISMATCH)."
    updateLtiRegistration(tenant: ID!, id: ID!, input: LtiRegistrationInput!, ifMatch: String): LtiRegistration!
    deleteLtiRegistration(tenant: ID!, id: ID!): Boolean!
  }
`;

interface InputArg {
  displayName?: string | null;
  issuer: string;
  clientId: string;
  deploymentIds: readonly string[];
  authLoginUrl: string;
  accessTokenUrl: string;
  jwksUrl: string;
}

function inputOf(i: InputArg): LtiRegistrationInput {
  return {
    ...(i.displayName == null ? {} : { displayName: i.displayName }),
    issuer: i.issuer,
    clientId: i.clientId,
    deploymentIds: i.deploymentIds,
    authLoginUrl: i.authLoginUrl,
    accessTokenUrl: i.accessTokenUrl,
    jwksUrl: i.jwksUrl,
  };
}

const out = (r: LtiRegistration) => ({ ...r, displayName: r.displayName ?? null });

export function ltiResolvers(lti: LtiRegistrationService) {
  return {
    Query: {
      ltiRegistrations: async (_: unknown, a: { tenant: string }, ctx: GraphQLContext) => (await lti.list(requirePrincipal(ctx), a.tenant)).map(out),
      ltiRegistration: async (_: unknown, a: { tenant: string; id: string }, ctx: GraphQLContext) =>
        out(await lti.get(requirePrincipal(ctx), a.tenant, a.id)),
    },
    Mutation: {
      createLtiRegistration: async (_: unknown, a: { tenant: string; input: InputArg }, ctx: GraphQLContext) =>
        out(await lti.create(requirePrincipal(ctx), a.tenant, inputOf(a.input))),
      updateLtiRegistration: async (_: unknown, a: { tenant: string; id: string; input: InputArg; ifMatch?: string | null }, ctx: GraphQLContext) =>
        out(await lti.update(requirePrincipal(ctx), a.tenant, a.id, inputOf(a.input), a.ifMatch ?? undefined)),
      deleteLtiRegistration: async (_: unknown, a: { tenant: string; id: string }, ctx: GraphQLContext) => {
        await lti.delete(requirePrincipal(ctx), a.tenant, a.id);
        return true;
      },
    },
  };
}
