import type { SnapshotService } from '../../domain/vms/snapshot-service.js';
import { snapshotDto } from '../rest/snapshots.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL } from './operation-dto.js';

/** VM snapshots and restores over the same use cases as REST (uses `Operation`). */
export const snapshotTypeDefs = /* GraphQL */ `
  enum VmSnapshotPhase {
    InProgress
    Succeeded
    Failed
    Unknown
  }
  enum VmSnapshotIndication {
    Online
    GuestAgent
    NoGuestAgent
  }

  "A snapshot of a VM (a KubeVirt VirtualMachineSnapshot)."
  type VmSnapshot {
    tenant: ID!
    vm: ID!
    name: ID!
    phase: VmSnapshotPhase!
    readyToUse: Boolean!
    "The VM was running when it was taken."
    online: Boolean!
    indications: [VmSnapshotIndication!]!
    error: String
    creationTime: String
    "Storage it counts for against the tenant's quota, GiB."
    sizeGi: Int!
    createdAt: String!
    deleting: Boolean!
  }

  extend type Query {
    "The VM's snapshots, sorted by name (vm.read)."
    vmSnapshots(tenant: ID!, vm: ID!): [VmSnapshot!]!
  }

  extend type Mutation {
    "Snapshots a VM (vm.snapshot operation; vm.update). The name is generated when absent."
    createVmSnapshot(tenant: ID!, vm: ID!, name: ID): Operation!
    "Deletes a snapshot of a VM (vm.update)."
    deleteVmSnapshot(tenant: ID!, vm: ID!, name: ID!): Boolean!
    "Restores a VM from one of its snapshots (vm.restore operation; vm.update); stopFirst stops a VM that is not stopped."
    restoreVm(tenant: ID!, vm: ID!, snapshot: ID!, stopFirst: Boolean = false): Operation!
  }
`;

type VmArgs = { tenant: string; vm: string };

export function snapshotResolvers(snapshots: SnapshotService) {
  return {
    Query: {
      vmSnapshots: async (_: unknown, a: VmArgs, ctx: GraphQLContext) =>
        (await snapshots.list(requirePrincipal(ctx), a.tenant, a.vm)).map((s) => {
          const dto = snapshotDto(s);
          return { ...dto, error: dto.error ?? null, creationTime: dto.creationTime ?? null };
        }),
    },
    Mutation: {
      createVmSnapshot: async (_: unknown, a: VmArgs & { name?: string | null }, ctx: GraphQLContext) =>
        operationGraphQL(await snapshots.create(requirePrincipal(ctx), a.tenant, a.vm, a.name == null ? {} : { name: a.name })),
      deleteVmSnapshot: async (_: unknown, a: VmArgs & { name: string }, ctx: GraphQLContext) => {
        await snapshots.delete(requirePrincipal(ctx), a.tenant, a.vm, a.name);
        return true;
      },
      restoreVm: async (_: unknown, a: VmArgs & { snapshot: string; stopFirst?: boolean | null }, ctx: GraphQLContext) =>
        operationGraphQL(await snapshots.restore(requirePrincipal(ctx), a.tenant, a.vm, { snapshot: a.snapshot, stopFirst: a.stopFirst === true })),
    },
  };
}
