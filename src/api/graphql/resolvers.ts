import { ValidationError } from '../../domain/shared/errors.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL } from './operation-dto.js';
import { costControlsOf, type CostControlsArg } from './cost-controls.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { Quota, TenantProfile, VmCaps } from '../../domain/tenants/tenant.js';
import type { CreateTenantInput, MemberInput, TenantService, TenantView, UpdateTenantInput } from '../../domain/tenants/tenant-service.js';

/** GraphQL leaves absent input fields out but may send explicit nulls: drop both. */
function compact<T extends object>(input: T | null | undefined): Partial<{ [K in keyof T]: Exclude<T[K], null> }> | undefined {
  if (input === null || input === undefined) return undefined;
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== null && v !== undefined)) as Partial<{
    [K in keyof T]: Exclude<T[K], null>;
  }>;
}

type Nullable<T> = { [K in keyof T]?: T[K] | null };

export const baseResolvers = {
  Query: {
    me: (_: unknown, __: unknown, ctx: GraphQLContext) => {
      const p = requirePrincipal(ctx);
      return {
        id: p.id,
        name: p.name,
        kind: p.kind,
        platformAdmin: p.platformAdmin,
        tenants: [...p.tenantRoles].map(([tenant, role]) => ({ tenant, role })),
      };
    },
  },
};

export function tenantResolvers(deps: { tenants: TenantService }) {
  const { tenants } = deps;
  return {
    Query: {
      tenants: async (_: unknown, args: { limit: number; cursor?: string | null; profile?: TenantProfile | null }, ctx: GraphQLContext) => {
        if (!Number.isInteger(args.limit) || args.limit < 1 || args.limit > MAX_PAGE_LIMIT) {
          throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
        }
        const page = await tenants.list(requirePrincipal(ctx), args.profile == null ? {} : { profile: args.profile }, {
          limit: args.limit,
          ...(args.cursor == null ? {} : { cursor: args.cursor }),
        });
        return { items: page.items, nextCursor: page.nextCursor ?? null };
      },
      tenant: (_: unknown, args: { id: string }, ctx: GraphQLContext) => tenants.get(requirePrincipal(ctx), args.id),
    },
    Mutation: {
      createTenant: (
        _: unknown,
        args: {
          input: Nullable<Omit<CreateTenantInput, 'costControls'>> & {
            id: string;
            displayName: string;
            profile: TenantProfile;
            costControls?: CostControlsArg | null;
          };
        },
        ctx: GraphQLContext,
      ) => {
        const i = args.input;
        const quota = compact(i.quota as Nullable<Quota> | null | undefined);
        const vmCaps = compact(i.vmCaps as Nullable<VmCaps> | null | undefined);
        return tenants.create(requirePrincipal(ctx), {
          id: i.id,
          displayName: i.displayName,
          profile: i.profile,
          ...(i.description == null ? {} : { description: i.description }),
          ...(quota === undefined ? {} : { quota }),
          ...(vmCaps === undefined ? {} : { vmCaps }),
          ...(i.costControls == null ? {} : { costControls: costControlsOf(i.costControls) }),
          ...(i.owners == null ? {} : { owners: i.owners.map((o) => compact(o) as { principalId: string }) }),
        });
      },
      updateTenant: (
        _: unknown,
        args: {
          id: string;
          input: Nullable<Omit<UpdateTenantInput, 'costControls'>> & { costControls?: CostControlsArg | null };
          expectedVersion?: string | null;
        },
        ctx: GraphQLContext,
      ) => {
        const i = args.input;
        const quota = compact(i.quota as Nullable<Quota> | null | undefined);
        const vmCaps = compact(i.vmCaps as Nullable<VmCaps> | null | undefined);
        return tenants.update(
          requirePrincipal(ctx),
          args.id,
          {
            ...(i.displayName == null ? {} : { displayName: i.displayName }),
            ...(i.description == null ? {} : { description: i.description }),
            ...(quota === undefined ? {} : { quota }),
            ...(vmCaps === undefined ? {} : { vmCaps }),
            ...(i.costControls === undefined ? {} : { costControls: i.costControls === null ? null : costControlsOf(i.costControls) }),
          },
          args.expectedVersion ?? undefined,
        );
      },
      deleteTenant: async (_: unknown, args: { id: string; force: boolean }, ctx: GraphQLContext) =>
        operationGraphQL(await tenants.delete(requirePrincipal(ctx), args.id, { force: args.force })),
      putMember: async (
        _: unknown,
        args: { tenant: string; principalId: string; input: Nullable<MemberInput> & { role: MemberInput['role'] } },
        ctx: GraphQLContext,
      ) => {
        const i = args.input;
        const { member } = await tenants.putMember(requirePrincipal(ctx), args.tenant, args.principalId, {
          role: i.role,
          ...(i.principalType == null ? {} : { principalType: i.principalType }),
          ...(i.displayName == null ? {} : { displayName: i.displayName }),
        });
        return member;
      },
      deleteMember: async (_: unknown, args: { tenant: string; principalId: string }, ctx: GraphQLContext) => {
        await tenants.deleteMember(requirePrincipal(ctx), args.tenant, args.principalId);
        return true;
      },
    },
    Tenant: {
      members: (t: TenantView, _: unknown, ctx: GraphQLContext) => tenants.listMembers(requirePrincipal(ctx), t.id),
    },
  };
}
