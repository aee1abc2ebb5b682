import type { ImageService } from '../../domain/images/image-service.js';
import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { NodeService } from '../../domain/vms/node-service.js';
import type { VmView } from '../../domain/vms/vm.js';
import type { VmPowerAction } from '../../domain/vms/vm-repository.js';
import type { CreateVmInput, UpdateVmInput, VmService } from '../../domain/vms/vm-service.js';
import type { VmState } from '../../domain/vms/vm-state.js';
import { imageDto } from '../rest/images.js';
import type { AutoShutdownViews } from '../../domain/usage/vm-cost-controls.js';
import { autoShutdownDto, instanceTypeDto, listFilterOf, nodeDto, vmDto } from '../rest/vms.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { pushToAsyncIterator } from './event-iterator.js';
import { operationGraphQL } from './operation-dto.js';

/** VMs, instance types and nodes over the same use cases as REST (uses `Image`, `ImageScope`, `TenantProfile`, `Operation`). */
export const vmTypeDefs = /* GraphQL */ `
  enum VmState {
    Provisioning
    Stopped
    Starting
    Running
    Stopping
    Migrating
    Paused
    Error
  }
  enum VmAction {
    start
    stop
    restart
    migrate
  }

  type InstanceType {
    name: ID!
    cpu: Int!
    memoryGi: Int!
    description: String!
    profiles: [TenantProfile!]!
  }
  type VmImageRef {
    scope: ImageScope!
    name: ID!
  }
  type VmLabel {
    key: String!
    value: String!
  }
  "A live migration; node names are not shown to tenant members."
  type VmMigration {
    name: ID!
    phase: String!
    failureReason: String
    sourceNode: String
    targetNode: String
  }

  type VmArcStatus {
    status: String!
    machineResourceId: String!
  }
  type VmExtensionStatus {
    state: String!
  }
  "Azure identity of a VM with Arc on."
  type VmIdentity {
    arc: VmArcStatus!
    extension: VmExtensionStatus!
    ready: Boolean!
    connectCommand: String
  }

  type Vm {
    id: ID!
    tenant: ID!
    name: ID!
    owner: String!
    lab: String
    imageRef: VmImageRef!
    "The image the VM was built from (loaded in batches; null when it is gone)."
    image: Image
    instanceType: String
    cpu: Int!
    memoryGi: Float!
    diskGi: Float!
    storageClass: String!
    arc: Boolean!
    identity: VmIdentity
    running: Boolean!
    runStrategy: String!
    labels: [VmLabel!]!
    state: VmState!
    reason: String
    message: String
    availableActions: [VmAction!]!
    liveMigratable: Boolean!
    "CPU or memory changed while running: applies at the next restart."
    restartRequired: Boolean!
    deleting: Boolean!
    "Not shown to tenant members."
    nodeName: String
    migration: VmMigration
    "Auto-shutdown of a VM with cost controls (null without): loaded in batches, only when asked."
    autoShutdown: VmAutoShutdown
    createdAt: String!
    version: String!
  }

  "What the idle detector last saw of a VM with cost controls."
  type VmAutoShutdown {
    "available or unavailable (the guest agent, or in lowUsage mode the usage figures, do not answer, or the VM is not running: never stopped for that)."
    signals: String!
    "Someone is logged in (in lowUsage mode: or the VM is busy)."
    active: Boolean!
    idleSince: String
    "When vm.idle-warning or vm.quota-warning was sent."
    warnedAt: String
    "AutoShutdown:Disconnect, AutoShutdown:NotConnected, AutoShutdown:Idle or UsageQuota:Exhausted."
    reason: String
    "When the VM will be stopped unless someone uses it."
    stopAt: String
  }

  type VmConnection {
    items: [Vm!]!
    nextCursor: String
  }
  type VmUpdate {
    deleted: Boolean!
    vm: Vm!
  }
  type Node {
    name: ID!
    ready: Boolean!
    schedulable: Boolean!
    zone: String
    instanceType: String
    cpu: Float!
    memoryGi: Float!
    virtualMachines: Int!
  }

  input VmImageRefInput {
    scope: ImageScope!
    name: ID!
  }
  input VmLabelInput {
    key: String!
    value: String!
  }
  input CreateVmInput {
    name: ID!
    image: VmImageRefInput!
    instanceType: String
    cpu: Int
    memoryGi: Int
    diskGi: Int!
    "kv-premium-retain or kv-standard."
    storageClass: String!
    sshPublicKeys: [String!]!
    "Extra user-data (#cloud-config or a #! script); kept in a Secret, never echoed back."
    cloudInit: String
    owner: String
    lab: String
    labels: [VmLabelInput!]
    arc: Boolean
    running: Boolean
  }
  input UpdateVmInput {
    instanceType: String
    cpu: Int
    memoryGi: Int
    running: Boolean
  }

  extend type Query {
    instanceTypes(tenant: ID): [InstanceType!]!
    vms(tenant: ID!, owner: String, state: VmState, lab: String, label: String, limit: Int = 50, cursor: String): VmConnection!
    vm(tenant: ID!, name: ID!): Vm!
    "Platform admins."
    nodes: [Node!]!
  }

  extend type Mutation {
    createVm(tenant: ID!, input: CreateVmInput!): Operation!
    updateVm(tenant: ID!, name: ID!, input: UpdateVmInput!): Vm!
    deleteVm(tenant: ID!, name: ID!): Operation!
    startVm(tenant: ID!, name: ID!): Operation!
    stopVm(tenant: ID!, name: ID!): Operation!
    restartVm(tenant: ID!, name: ID!): Operation!
    migrateVm(tenant: ID!, name: ID!): Operation!
    "Runs the Azure identity flow of a VM with Arc on again (vm.identity)."
    retryVmIdentity(tenant: ID!, name: ID!): Operation!
    "Platform admins."
    evacuateNode(node: ID!): Operation!
  }

  extend type Subscription {
    "Every change of the tenant's VMs that you may see (members: their own), as it reaches the cache."
    vmUpdated(tenant: ID!): VmUpdate!
  }
`;

type Nullable<T> = { [K in keyof T]?: T[K] | null };
type VmArgs = { tenant: string; name: string };
type CreateArgs = {
  tenant: string;
  input: Nullable<Omit<CreateVmInput, 'labels'>> &
    Pick<CreateVmInput, 'name' | 'image' | 'diskGi' | 'storageClass' | 'sshPublicKeys'> & { labels?: Array<{ key: string; value: string }> | null };
};

/** The GraphQL shape of a VM: the REST DTO with labels as a list and the image reference apart. */
export function vmGraphQL(v: VmView) {
  const dto = vmDto(v);
  return { ...dto, imageRef: dto.image, labels: Object.entries(dto.labels).map(([key, value]) => ({ key, value })) };
}

function defined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], null | undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], null | undefined>;
  };
}

function createInput(i: CreateArgs['input']): CreateVmInput {
  const { labels, ...rest } = i;
  const labelMap = labels == null ? undefined : Object.fromEntries(labels.map((l) => [l.key, l.value]));
  return { ...(defined(rest) as CreateVmInput), ...(labelMap === undefined ? {} : { labels: labelMap }) };
}

export function vmResolvers(deps: { vms: VmService; nodes: NodeService }) {
  const { vms, nodes } = deps;
  const power = (action: VmPowerAction) => async (_: unknown, a: VmArgs, ctx: GraphQLContext) =>
    operationGraphQL(await vms.power(requirePrincipal(ctx), a.tenant, a.name, action));
  return {
    Query: {
      instanceTypes: async (_: unknown, a: { tenant?: string | null }, ctx: GraphQLContext) =>
        (await vms.instanceTypes(requirePrincipal(ctx), a.tenant ?? undefined)).map(instanceTypeDto),
      vms: async (
        _: unknown,
        a: {
          tenant: string;
          owner?: string | null;
          state?: VmState | null;
          lab?: string | null;
          label?: string | null;
          limit: number;
          cursor?: string | null;
        },
        ctx: GraphQLContext,
      ) => {
        if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
          throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
        }
        const page = await vms.list(requirePrincipal(ctx), a.tenant, listFilterOf(a), {
          limit: a.limit,
          ...(a.cursor == null ? {} : { cursor: a.cursor }),
        });
        return { items: page.items.map(vmGraphQL), nextCursor: page.nextCursor ?? null };
      },
      vm: async (_: unknown, a: VmArgs, ctx: GraphQLContext) => vmGraphQL(await vms.get(requirePrincipal(ctx), a.tenant, a.name)),
      nodes: async (_: unknown, __: unknown, ctx: GraphQLContext) => (await nodes.list(requirePrincipal(ctx))).map(nodeDto),
    },
    Mutation: {
      createVm: async (_: unknown, a: CreateArgs, ctx: GraphQLContext) =>
        operationGraphQL(await vms.create(requirePrincipal(ctx), a.tenant, createInput(a.input))),
      updateVm: async (_: unknown, a: VmArgs & { input: Nullable<UpdateVmInput> }, ctx: GraphQLContext) =>
        vmGraphQL(await vms.update(requirePrincipal(ctx), a.tenant, a.name, defined(a.input) as UpdateVmInput)),
      deleteVm: async (_: unknown, a: VmArgs, ctx: GraphQLContext) => operationGraphQL(await vms.delete(requirePrincipal(ctx), a.tenant, a.name)),
      startVm: power('start'),
      stopVm: power('stop'),
      restartVm: power('restart'),
      migrateVm: async (_: unknown, a: VmArgs, ctx: GraphQLContext) => operationGraphQL(await vms.migrate(requirePrincipal(ctx), a.tenant, a.name)),
      retryVmIdentity: async (_: unknown, a: VmArgs, ctx: GraphQLContext) =>
        operationGraphQL(await vms.retryIdentity(requirePrincipal(ctx), a.tenant, a.name)),
      evacuateNode: async (_: unknown, a: { node: string }, ctx: GraphQLContext) =>
        operationGraphQL(await nodes.evacuate(requirePrincipal(ctx), a.node)),
    },
    Subscription: {
      vmUpdated: {
        subscribe: (_: unknown, a: { tenant: string }, ctx: GraphQLContext) =>
          pushToAsyncIterator((push) =>
            vms.watch(requirePrincipal(ctx), a.tenant, (u) => push({ vmUpdated: { deleted: u.deleted, vm: vmGraphQL(u.vm) } })),
          ),
      },
    },
  };
}

type VmParent = { tenant: string; imageRef: { scope: 'platform' | 'tenant'; name: string } };

/**
 * `Vm.image` in batches: one lookup per distinct image of the page (a list of 50 VMs built from 2
 * images costs 2 lookups, not 50), each through the image use case (so visibility rules hold).
 */
export function vmLoaders(deps: { images: Pick<ImageService, 'get'>; autoShutdown?: AutoShutdownViews }) {
  return {
    Vm: {
      /** One state read for the whole page (the VMs were read, and authorized, by the query that gave them). */
      autoShutdown: async (queries: ReadonlyArray<{ obj: { tenant: string; name: string } }>) => {
        if (deps.autoShutdown === undefined) return queries.map(() => null);
        const views = await deps.autoShutdown.of(queries.map((q) => ({ tenant: q.obj.tenant, name: q.obj.name })));
        return views.map((v) => (v === undefined ? null : autoShutdownDto(v)));
      },
      image: async (queries: ReadonlyArray<{ obj: VmParent }>, ctx: GraphQLContext) => {
        const p = requirePrincipal(ctx);
        const keyOf = (v: VmParent) => `${v.imageRef.scope}|${v.imageRef.scope === 'tenant' ? v.tenant : ''}|${v.imageRef.name}`;
        const unique = new Map<string, VmParent>();
        for (const q of queries) unique.set(keyOf(q.obj), q.obj);
        const found = new Map<string, ReturnType<typeof imageDto> | null>();
        await Promise.all(
          [...unique].map(async ([key, v]) => {
            const owner = v.imageRef.scope === 'tenant' ? { scope: 'tenant' as const, tenant: v.tenant } : { scope: 'platform' as const };
            found.set(key, await deps.images.get(p, owner, v.imageRef.name).then(imageDto, () => null));
          }),
        );
        return queries.map((q) => found.get(keyOf(q.obj)) ?? null);
      },
    },
  };
}
