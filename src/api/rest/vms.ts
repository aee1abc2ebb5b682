import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InstanceType } from '../../domain/vms/instance-types.js';
import type { NodeService, NodeView } from '../../domain/vms/node-service.js';
import { sshCommand } from '../../domain/identity/arc-machine.js';
import type { VmIdentityState, VmView } from '../../domain/vms/vm.js';
import type { VmPowerAction } from '../../domain/vms/vm-repository.js';
import type { CreateVmInput, UpdateVmInput, VmService } from '../../domain/vms/vm-service.js';
import type { VmState } from '../../domain/vms/vm-state.js';
import type { VmListFilter } from '../../domain/vms/vm-view.js';
import type { AutoShutdownView, AutoShutdownViews } from '../../domain/usage/vm-cost-controls.js';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { etagOf, ifMatchVersion } from './etag.js';
import { sendAccepted } from './operations.js';
import { pageBody, pageOfAll, type PageQuery } from './paging.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: { 'if-match'?: string } }>;
type VmParams = { tenant: string; vm: string };
interface ListQuery {
  limit?: number;
  cursor?: string;
  owner?: string;
  state?: VmState;
  lab?: string;
  label?: string;
}

/** The wire shape of a VM (the generated contract type keeps it honest). */
export function vmDto(v: VmView): Schemas['Vm'] {
  return {
    id: v.id,
    tenant: v.tenant,
    name: v.name,
    owner: v.ownerId,
    ...(v.lab === undefined ? {} : { lab: v.lab }),
    image: { scope: v.image.scope, name: v.image.name },
    ...(v.instanceType === undefined ? {} : { instanceType: v.instanceType }),
    cpu: v.cpu,
    memoryGi: v.memoryGi,
    diskGi: v.diskGi,
    storageClass: v.storageClass,
    arc: v.arc,
    running: v.running,
    runStrategy: v.runStrategy,
    labels: { ...v.labels },
    state: v.state,
    ...(v.reason === undefined ? {} : { reason: v.reason }),
    ...(v.message === undefined ? {} : { message: v.message }),
    availableActions: [...v.availableActions],
    liveMigratable: v.liveMigratable,
    restartRequired: v.restartRequired,
    deleting: v.deleting,
    ...(v.nodeName === undefined ? {} : { nodeName: v.nodeName }),
    ...(v.migration === undefined ? {} : { migration: { ...v.migration } }),
    ...(v.identity === undefined ? {} : { identity: identityDto(v.identity) }),
    createdAt: v.createdAt,
    version: v.version,
  };
}

/** The `identity` section of a VM with Arc on: Arc status, extension state and the command to connect. */
export function identityDto(i: VmIdentityState): Schemas['VmIdentity'] {
  const m = /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.HybridCompute\/machines\/([^/]+)$/.exec(i.machineResourceId);
  return {
    arc: { status: i.arcStatus, machineResourceId: i.machineResourceId },
    extension: { state: i.extensionState },
    ready: i.ready,
    ...(m === null ? {} : { connectCommand: sshCommand({ subscriptionId: m[1] ?? '', resourceGroup: m[2] ?? '', machineName: m[3] ?? '' }) }),
  };
}

const bodies = new WeakMap<VmView, string>();

/**
 * The JSON text of a VM, memoized per view (views are immutable and memoized per cached record):
 * reads of unchanged VMs skip both the mapping and the serialization.
 */
export function vmJson(v: VmView): string {
  let json = bodies.get(v);
  if (json === undefined) {
    json = JSON.stringify(vmDto(v));
    bodies.set(v, json);
  }
  return json;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function instanceTypeDto(i: InstanceType): Schemas['InstanceType'] {
  return { name: i.name, cpu: i.cpu, memoryGi: i.memoryGi, description: i.description, profiles: [...i.profiles] };
}

export function nodeDto(n: NodeView): Schemas['Node'] {
  return { ...n };
}

/** The use-case input of a create request (the contract has validated its shape). */
export function createInputOf(b: Schemas['VmCreate']): CreateVmInput {
  return {
    name: b.name,
    image: { scope: b.image.scope, name: b.image.name },
    ...(b.instanceType === undefined ? {} : { instanceType: b.instanceType }),
    ...(b.cpu === undefined ? {} : { cpu: b.cpu }),
    ...(b.memoryGi === undefined ? {} : { memoryGi: b.memoryGi }),
    diskGi: b.diskGi,
    storageClass: b.storageClass,
    sshPublicKeys: b.sshPublicKeys ?? [],
    ...(b.cloudInit === undefined ? {} : { cloudInit: b.cloudInit }),
    ...(b.owner === undefined ? {} : { owner: b.owner }),
    ...(b.lab === undefined ? {} : { lab: b.lab }),
    ...(b.labels === undefined ? {} : { labels: b.labels }),
    ...(b.arc === undefined ? {} : { arc: b.arc }),
    ...(b.running === undefined ? {} : { running: b.running }),
  };
}

export function updateInputOf(b: Schemas['VmPatch']): UpdateVmInput {
  return {
    ...(b.instanceType === undefined ? {} : { instanceType: b.instanceType }),
    ...(b.cpu === undefined ? {} : { cpu: b.cpu }),
    ...(b.memoryGi === undefined ? {} : { memoryGi: b.memoryGi }),
    ...(b.running === undefined ? {} : { running: b.running }),
  };
}

export function listFilterOf(q: { owner?: string | null; state?: VmState | null; lab?: string | null; label?: string | null }): VmListFilter {
  return {
    ...(q.owner == null ? {} : { owner: q.owner }),
    ...(q.state == null ? {} : { state: q.state }),
    ...(q.lab == null ? {} : { lab: q.lab }),
    ...(q.label == null ? {} : { label: q.label }),
  };
}

/** The wire shape of a VM's auto-shutdown. */
export function autoShutdownDto(a: AutoShutdownView): Schemas['VmAutoShutdown'] {
  return {
    signals: a.signals,
    active: a.active,
    ...(a.idleSince === undefined ? {} : { idleSince: a.idleSince }),
    ...(a.warnedAt === undefined ? {} : { warnedAt: a.warnedAt }),
    ...(a.reason === undefined ? {} : { reason: a.reason as NonNullable<Schemas['VmAutoShutdown']['reason']> }),
    ...(a.stopAt === undefined ? {} : { stopAt: a.stopAt }),
  };
}

/** With no auto-shutdown area (tests of the VM module alone), no VM shows one. */
const NO_AUTO_SHUTDOWN: AutoShutdownViews = { of: async (refs) => refs.map(() => undefined) };

/**
 * REST handlers for VMs, instance types and nodes, keyed by the contract's operationIds. `GET` of one
 * VM adds its auto-shutdown (one state read); lists leave it out, so they stay cache reads.
 */
export function vmHandlers(vms: VmService, nodes: NodeService, autoShutdown: AutoShutdownViews = NO_AUTO_SHUTDOWN) {
  const power = (action: VmPowerAction) => async (req: Req<VmParams>, reply: FastifyReply) =>
    sendAccepted(reply, await vms.power(principalOf(req), req.params.tenant, req.params.vm, action));

  return {
    async listInstanceTypes(req: Req<unknown, PageQuery & { tenant?: string }>) {
      const items = await vms.instanceTypes(principalOf(req), req.query.tenant);
      const body: Schemas['InstanceTypeList'] = pageBody(
        pageOfAll(items, (i) => i.name, req.query),
        instanceTypeDto,
      );
      return body;
    },

    /** Sent as text assembled from memoized item bodies (the `VmList` shape; see `vmJson`). */
    async listVms(req: Req<{ tenant: string }, ListQuery>, reply: FastifyReply) {
      const q = req.query;
      const page = await vms.list(principalOf(req), req.params.tenant, listFilterOf(q), {
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      const next = page.nextCursor === undefined ? '' : `,"nextCursor":${JSON.stringify(page.nextCursor)}`;
      return reply.type(JSON_TYPE).send(`{"items":[${page.items.map(vmJson).join(',')}]${next}}`);
    },

    async createVm(req: Req<{ tenant: string }, unknown, Schemas['VmCreate']>, reply: FastifyReply) {
      return sendAccepted(reply, await vms.create(principalOf(req), req.params.tenant, createInputOf(req.body)));
    },

    async getVm(req: Req<VmParams>, reply: FastifyReply) {
      const vm = await vms.get(principalOf(req), req.params.tenant, req.params.vm);
      const [view] = await autoShutdown.of([{ tenant: vm.tenant, name: vm.name }]);
      const json = vmJson(vm);
      // The memoized VM body with the (unmemoized) auto-shutdown section added last.
      return reply
        .type(JSON_TYPE)
        .header('etag', etagOf(vm.version))
        .send(view === undefined ? json : `${json.slice(0, -1)},"autoShutdown":${JSON.stringify(autoShutdownDto(view))}}`);
    },

    async updateVm(req: Req<VmParams, unknown, Schemas['VmPatch']>, reply: FastifyReply) {
      const { tenant, vm: name } = req.params;
      const vm = await vms.update(principalOf(req), tenant, name, updateInputOf(req.body), ifMatchVersion(req.headers['if-match']));
      return reply.header('etag', etagOf(vm.version)).send(vmDto(vm));
    },

    async deleteVm(req: Req<VmParams>, reply: FastifyReply) {
      const expectedVersion = ifMatchVersion(req.headers['if-match']);
      const { tenant, vm } = req.params;
      return sendAccepted(reply, await vms.delete(principalOf(req), tenant, vm, expectedVersion === undefined ? {} : { expectedVersion }));
    },

    startVm: power('start'),
    stopVm: power('stop'),
    restartVm: power('restart'),

    async migrateVm(req: Req<VmParams>, reply: FastifyReply) {
      return sendAccepted(reply, await vms.migrate(principalOf(req), req.params.tenant, req.params.vm));
    },

    async retryVmIdentity(req: Req<VmParams>, reply: FastifyReply) {
      return sendAccepted(reply, await vms.retryIdentity(principalOf(req), req.params.tenant, req.params.vm));
    },

    async listNodes(req: Req<unknown, PageQuery>) {
      const body: Schemas['NodeList'] = pageBody(
        pageOfAll(await nodes.list(principalOf(req)), (n) => n.name, req.query),
        nodeDto,
      );
      return body;
    },

    async evacuateNode(req: Req<{ node: string }>, reply: FastifyReply) {
      return sendAccepted(reply, await nodes.evacuate(principalOf(req), req.params.node));
    },
  };
}
