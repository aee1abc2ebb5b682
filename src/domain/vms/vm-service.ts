import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { ImageLocator } from '../images/image-repository.js';
import type { ImageRef, StorageClass } from '../images/image.js';
import { isStorageClass } from '../images/image-rules.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError, PreconditionFailedError, UnprocessableError, ValidationError } from '../shared/errors.js';
import { uuidV5 } from '../shared/ids.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { Tenant } from '../tenants/tenant.js';
import { arcMachineName } from '../identity/arc-machine.js';
import type { ArcTarget, ArcUserDataRenderer, OnboardingCredentials } from '../identity/onboarding.js';
import { buildUserData, type UserDataInput } from './cloud-init.js';
import { DEFAULT_INSTANCE_TYPES, type InstanceType } from './instance-types.js';
import { VM_CREATE_KIND, VM_DELETE_KIND, vmTargetId, type VmAccessPlan, type VmSpec, type VmView } from './vm.js';
import { vmActionUseCases, type StartGate, type VmLoader } from './vm-actions.js';
import { vmIdentityRetry } from './vm-identity-retry.js';
import { specToInput } from './vm-job-input.js';
import { computeNeeds, createNeeds, refuseOverQuota, resizeNeeds } from './vm-quota.js';
import type { VmRepository } from './vm-repository.js';
import {
  cloudInitIssues,
  diskIssues,
  labelIssues,
  labIssues,
  ownerIssues,
  refuseIssues,
  resolveSize,
  sshKeyIssues,
  vmNameIssues,
} from './vm-rules.js';
import { canSeeVm, recordFilter, seesEveryVm, seesNodes, toView, type VmListFilter } from './vm-view.js';

export interface CreateVmInput {
  readonly name: string;
  readonly image: ImageRef;
  readonly instanceType?: string;
  readonly cpu?: number;
  readonly memoryGi?: number;
  readonly diskGi: number;
  readonly storageClass: string;
  readonly sshPublicKeys: readonly string[];
  /** Extra user-data (`#cloud-config` or a `#!` script); it may hold credentials and goes into the Secret only. */
  readonly cloudInit?: string;
  /** Principal id; defaults to the caller. */
  readonly owner?: string;
  readonly lab?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly arc?: boolean;
  /** Default true: start at once (runStrategy Always), else Halted. */
  readonly running?: boolean;
}

export interface UpdateVmInput {
  readonly instanceType?: string;
  readonly cpu?: number;
  readonly memoryGi?: number;
  readonly running?: boolean;
}

export interface VmServiceDeps {
  readonly repo: VmRepository;
  readonly tenants: Pick<TenantRepository, 'get' | 'usage'>;
  readonly images: ImageLocator;
  /** Starts the long-running parts (create, power actions, migration, delete). */
  readonly operations: Pick<OperationService, 'start'>;
  readonly instanceTypes?: readonly InstanceType[];
  /** Checked before a VM is started (power start, or `running: true` on a stopped VM): a lab student's usage quota. */
  readonly startGate?: StartGate;
  /** Azure Arc onboarding of VMs created with `arc: true` (without it, such VMs are refused with 409). */
  readonly onboarding?: {
    readonly credentials: OnboardingCredentials;
    readonly renderer: ArcUserDataRenderer;
    readonly target: ArcTarget;
  };
}

export type VmService = ReturnType<typeof createVmService>;

/**
 * Stages a new VM's cloud-init (see `VmRepository.putCloudInit`): `base`, and with Arc on the
 * onboarding part for the VM's own Arc machine (with a scrubbed copy without the token). The token
 * goes into the Secret only: never into an operation's input, a log line or an answer.
 */
export async function stageCloudInit(
  deps: { readonly repo: Pick<VmRepository, 'putCloudInit'>; readonly onboarding?: VmServiceDeps['onboarding'] },
  vm: { readonly tenant: string; readonly name: string; readonly id: string; readonly arc: boolean; readonly base: UserDataInput },
): Promise<void> {
  if (vm.arc && deps.onboarding !== undefined) {
    const { credentials, renderer, target } = deps.onboarding;
    const token = await credentials.mintAccessToken();
    const rendered = await renderer.render({
      machineName: arcMachineName(vm.tenant, vm.name),
      tenant: vm.tenant,
      vmId: vm.id,
      target,
      secret: { kind: 'access-token', token: token.token },
    });
    await deps.repo.putCloudInit(
      vm.tenant,
      vm.name,
      buildUserData({ ...vm.base, arc: rendered.userData }),
      buildUserData({ ...vm.base, arc: rendered.scrubbedUserData }),
    );
  } else {
    await deps.repo.putCloudInit(vm.tenant, vm.name, buildUserData(vm.base));
  }
}

/** The tenant, once the caller may read its VMs (a tenant the caller may not see is 404). */
function tenantReader(tenants: Pick<TenantRepository, 'get'>) {
  return async (p: Principal, id: string): Promise<Tenant> => {
    authorize(p, 'vm.read', { tenant: id });
    const t = await tenants.get(id);
    if (t === undefined) throw new NotFoundError('tenant', id);
    return t;
  };
}

/** The image a VM is built from; an unknown one is 422 `IMAGE_NOT_FOUND` (the request names it). */
export async function resolveVmImage(images: ImageLocator, tenant: string, ref: ImageRef) {
  try {
    return await images.resolve(tenant, ref);
  } catch (err) {
    if (err instanceof NotFoundError) {
      throw new UnprocessableError('IMAGE_NOT_FOUND', `There is no ${ref.scope} image '${ref.name}'.`, { details: { image: { ...ref } } });
    }
    throw err;
  }
}

/**
 * Loads a VM for a use case on it: the tenant must be visible, the VM must exist and be visible to
 * the caller (members: their own, others' are 404), and `permission` must be allowed on it.
 */
export function createVmLoader(repo: Pick<VmRepository, 'get'>, tenants: Pick<TenantRepository, 'get'>): VmLoader {
  const tenantOf = tenantReader(tenants);
  return async (p, tenantId, name, permission) => {
    const tenant = await tenantOf(p, tenantId);
    const vm = await repo.get(tenantId, name);
    if (vm === undefined) throw new NotFoundError('vm', name);
    authorize(p, 'vm.read', { tenant: tenantId, ownerId: vm.ownerId }, { resource: 'vm', id: name });
    authorize(p, permission, { tenant: tenantId, ownerId: vm.ownerId }, { resource: 'vm', id: name });
    return { tenant, vm };
  };
}

/**
 * VM use cases. Every method authorizes first (another tenant's VMs, and for members others' VMs,
 * are 404), validates, checks the quota before anything is written, then writes or starts an operation.
 */
export function createVmService(deps: VmServiceDeps) {
  const { repo, tenants } = deps;
  const catalog = deps.instanceTypes ?? DEFAULT_INSTANCE_TYPES;

  const tenantOf = tenantReader(tenants);
  const load = createVmLoader(repo, tenants);

  const resolveImage = (tenant: string, ref: ImageRef) => resolveVmImage(deps.images, tenant, ref);

  return {
    /** The catalog; with a tenant, only the types its profile and caps allow. */
    async instanceTypes(p: Principal, tenant?: string): Promise<readonly InstanceType[]> {
      if (tenant === undefined) return catalog;
      const t = await tenantOf(p, tenant);
      return catalog.filter((i) => i.profiles.includes(t.profile) && i.cpu <= t.vmCaps.maxCpu && i.memoryGi <= t.vmCaps.maxMemoryGi);
    },

    /**
     * A page of the tenant's VMs the caller may see, sorted by name, from the cache. Cheap filters
     * run on the records; only a state filter needs every VM's derived view, otherwise views are
     * derived for the page alone.
     */
    async list(p: Principal, tenant: string, filter: VmListFilter, page: PageRequest): Promise<Page<VmView>> {
      await tenantOf(p, tenant);
      const nodes = seesNodes(p, tenant);
      const all = seesEveryVm(p, tenant);
      const matches = recordFilter(filter);
      const records = await repo.list(tenant);
      const visible =
        all && matches === undefined ? records : records.filter((r) => (all || canSeeVm(p, r)) && (matches === undefined || matches(r)));
      if (filter.state === undefined) {
        const res = pageByKey(visible, (r) => r.name, page);
        const items = res.items.map((r) => toView(r, nodes));
        return res.nextCursor === undefined ? { items } : { items, nextCursor: res.nextCursor };
      }
      const views = visible.map((r) => toView(r, nodes)).filter((v) => v.state === filter.state);
      return pageByKey(views, (v) => v.name, page);
    },

    /** A read from the cache; the tenant is only looked up to tell a missing tenant from a missing VM. */
    async get(p: Principal, tenant: string, name: string): Promise<VmView> {
      authorize(p, 'vm.read', { tenant });
      const vm = await repo.get(tenant, name);
      if (vm === undefined) {
        await tenantOf(p, tenant);
        throw new NotFoundError('vm', name);
      }
      authorize(p, 'vm.read', { tenant, ownerId: vm.ownerId }, { resource: 'vm', id: name });
      return toView(vm, seesNodes(p, tenant));
    },

    /**
     * `options` are for other use cases (labs): the parent operation, and who gets which access
     * role once a VM with Arc on is onboarded.
     */
    async create(
      p: Principal,
      tenantId: string,
      input: CreateVmInput,
      options: { readonly parentId?: string; readonly access?: VmAccessPlan } = {},
    ): Promise<Operation> {
      authorize(p, 'vm.create', { tenant: tenantId });
      const tenant = await tenantOf(p, tenantId);
      const owner = input.owner ?? p.id;
      const labels = input.labels ?? {};
      refuseIssues('The VM is not acceptable.', [
        ...vmNameIssues(input.name),
        ...sshKeyIssues(input.sshPublicKeys, { required: input.arc !== true }),
        ...cloudInitIssues(input.cloudInit),
        ...labelIssues(labels),
        ...ownerIssues(owner),
        ...labIssues(input.lab),
        ...diskIssues(input.diskGi),
        ...(isStorageClass(input.storageClass) ? [] : [{ field: '/storageClass', message: 'must be kv-premium-retain or kv-standard' }]),
      ]);
      const size = resolveSize(input, tenant.profile, tenant.vmCaps, catalog);
      const image = await resolveImage(tenantId, input.image);
      refuseIssues('The disk is too small.', diskIssues(input.diskGi, image.sizeGi));
      if (!image.ready) {
        throw new ConflictError('IMAGE_NOT_READY', `Image '${input.image.name}' is still importing; create the VM once it is Ready.`);
      }
      if ((await repo.get(tenantId, input.name)) !== undefined) {
        throw new ConflictError('VM_EXISTS', `A VM named '${input.name}' already exists in tenant '${tenantId}'.`);
      }
      const running = input.running ?? true;
      const spec: VmSpec = {
        tenant: tenantId,
        name: input.name,
        id: uuidV5(`vm:${tenantId}/${input.name}`),
        ownerId: owner,
        ...(input.lab === undefined ? {} : { lab: input.lab }),
        image: { scope: input.image.scope, name: input.image.name },
        source: { namespace: image.namespace, pvcName: image.pvcName },
        ...size,
        diskGi: input.diskGi,
        storageClass: input.storageClass as StorageClass,
        arc: input.arc ?? false,
        running,
        labels,
        ...(options.access === undefined ? {} : { access: options.access }),
      };
      if (spec.arc && deps.onboarding === undefined) {
        throw new ConflictError(
          'ARC_ONBOARDING_NOT_CONFIGURED',
          'Azure Arc onboarding is not configured on this platform (no onboarding identity); create the VM with arc: false or ask an administrator.',
        );
      }
      refuseOverQuota(createNeeds(spec), tenant.quota, await tenants.usage(tenantId), `VM '${input.name}'`);
      await stageCloudInit(deps, {
        tenant: tenantId,
        name: input.name,
        id: spec.id,
        arc: spec.arc,
        // A published image is another VM's disk: generalise it on first boot.
        base: {
          hostname: input.name,
          sshPublicKeys: input.sshPublicKeys,
          ...(input.cloudInit === undefined ? {} : { extra: input.cloudInit }),
          ...(image.generalize ? { generalize: true } : {}),
        },
      });
      return deps.operations.start(p, {
        kind: VM_CREATE_KIND,
        tenant: tenantId,
        target: { type: 'vm', id: vmTargetId(tenantId, input.name), name: input.name },
        ownerId: owner,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        input: specToInput(spec),
      });
    },

    /**
     * Resizes (applies at the next restart: KubeVirt keeps the running instance as it is) or turns
     * the VM on or off. Growth is checked against the quota when the VM runs (or is turned on).
     */
    async update(p: Principal, tenantId: string, name: string, input: UpdateVmInput, expectedVersion?: string): Promise<VmView> {
      const { tenant, vm } = await load(p, tenantId, name, 'vm.update');
      refuseStaleVersion(name, vm.version, expectedVersion);
      const resizing = input.instanceType !== undefined || input.cpu !== undefined || input.memoryGi !== undefined;
      if (!resizing && input.running === undefined)
        throw new ValidationError('Nothing to change.', [{ field: '/', message: 'give instanceType, cpu, memoryGi or running' }]);
      const size = resizing
        ? resolveSize(
            {
              instanceType: input.instanceType,
              cpu: input.cpu ?? (input.instanceType === undefined ? vm.cpu : undefined),
              memoryGi: input.memoryGi ?? (input.instanceType === undefined ? vm.memoryGi : undefined),
            },
            tenant.profile,
            tenant.vmCaps,
            catalog,
          )
        : { cpu: vm.cpu, memoryGi: vm.memoryGi, ...(vm.instanceType === undefined ? {} : { instanceType: vm.instanceType }) };
      const wasRunning = vm.runStrategy !== 'Halted';
      const willRun = input.running ?? wasRunning;
      if (willRun && !wasRunning) await deps.startGate?.refuseStart(p, vm);
      const needs = !willRun ? {} : wasRunning ? resizeNeeds(vm, size) : computeNeeds(size);
      refuseOverQuota(needs, tenant.quota, await tenants.usage(tenantId), `The change to VM '${name}'`);
      const updated = await repo.update(tenantId, name, {
        ...(resizing ? { cpu: size.cpu, memoryGi: size.memoryGi, instanceType: size.instanceType ?? null } : {}),
        ...(input.running === undefined ? {} : { running: input.running }),
      });
      return toView(updated, seesNodes(p, tenantId));
    },

    /**
     * Starts deleting a VM (`vm.delete`): the VirtualMachine, its VMI, its cloud-init Secret and,
     * unless its storage class retains them (`kv-premium-retain`), its disks.
     */
    async delete(
      p: Principal,
      tenantId: string,
      name: string,
      options: { readonly parentId?: string; readonly expectedVersion?: string } = {},
    ): Promise<Operation> {
      const { vm } = await load(p, tenantId, name, 'vm.delete');
      refuseStaleVersion(name, vm.version, options.expectedVersion);
      return deps.operations.start(p, {
        kind: VM_DELETE_KIND,
        tenant: tenantId,
        ...(options.parentId === undefined ? {} : { parentId: options.parentId }),
        target: { type: 'vm', id: vmTargetId(tenantId, name), name },
        ownerId: vm.ownerId,
        input: { tenant: tenantId, name, retainDisks: vm.storageClass === 'kv-premium-retain', ...(vm.arc ? { arc: true } : {}) },
      });
    },

    /**
     * Delivers the tenant's VM changes that `p` may see (members: their own), as views; `deleted`
     * carries the last known state. Authorizes at subscription time.
     */
    async watch(p: Principal, tenant: string, listener: (update: { deleted: boolean; vm: VmView }) => void): Promise<{ unsubscribe(): void }> {
      await tenantOf(p, tenant);
      const nodes = seesNodes(p, tenant);
      const unsubscribe = repo.watch((e) => {
        if (e.tenant !== tenant || e.vm === undefined || !canSeeVm(p, e.vm)) return;
        listener({ deleted: e.type === 'deleted', vm: toView(e.vm, nodes) });
      });
      return { unsubscribe };
    },

    ...vmActionUseCases({ ...deps, load }),
    ...vmIdentityRetry({ load, operations: deps.operations, onboardingAvailable: deps.onboarding !== undefined }),
  };
}

/** A change made against a version (If-Match) that is no longer the VM's is refused: 412 `VERSION_MISMATCH`. */
function refuseStaleVersion(name: string, current: string, expected: string | undefined): void {
  if (expected !== undefined && expected !== current)
    throw new PreconditionFailedError('VERSION_MISMATCH', `VM '${name}' has changed since version ${expected}; read it again.`, {
      details: { version: current },
    });
}
