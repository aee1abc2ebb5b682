import type { AccessPrincipalType, AccessRole } from '../../domain/identity/access.js';
import type { VmAccessService } from '../../domain/vms/vm-access.js';
import { vmAccessDto } from '../rest/vm-access.js';
import { requirePrincipal, type GraphQLContext } from './context.js';

/** VM access grants over the same use cases as REST. */
export const vmAccessTypeDefs = /* GraphQL */ `
  enum VmAccessRole {
    administrator
    user
  }
  enum VmAccessPrincipalType {
    User
    Group
  }
  "A principal allowed to log in to a VM over Azure AD SSH: administrator (sudo) or user."
  type VmAccess {
    principalId: ID!
    role: VmAccessRole!
    principalType: String
  }

  extend type Query {
    "Access grants on the VM's Azure Arc machine (409 ARC_NOT_ENABLED without Arc)."
    vmAccess(tenant: ID!, name: ID!): [VmAccess!]!
  }

  extend type Mutation {
    "Tenant owners. Idempotent."
    grantVmAccess(tenant: ID!, name: ID!, principalId: ID!, role: VmAccessRole!, principalType: VmAccessPrincipalType!): VmAccess!
    "Tenant owners. Revokes every access role of the principal; idempotent."
    revokeVmAccess(tenant: ID!, name: ID!, principalId: ID!): Boolean!
  }
`;

type VmArgs = { tenant: string; name: string };

export function vmAccessResolvers(access: VmAccessService) {
  return {
    Query: {
      vmAccess: async (_: unknown, a: VmArgs, ctx: GraphQLContext) => (await access.list(requirePrincipal(ctx), a.tenant, a.name)).map(vmAccessDto),
    },
    Mutation: {
      grantVmAccess: async (
        _: unknown,
        a: VmArgs & { principalId: string; role: AccessRole; principalType: AccessPrincipalType },
        ctx: GraphQLContext,
      ) => vmAccessDto(await access.grant(requirePrincipal(ctx), a.tenant, a.name, a.principalId, a.role, a.principalType)),
      revokeVmAccess: async (_: unknown, a: VmArgs & { principalId: string }, ctx: GraphQLContext) => {
        await access.revoke(requirePrincipal(ctx), a.tenant, a.name, a.principalId);
        return true;
      },
    },
  };
}
