import { makePrincipal } from '../../domain/auth/principal.js';
import type { AccessPort } from '../../domain/identity/access.js';
import { AAD_SSH_LOGIN_EXTENSION, arcMachineName, arcResourceId } from '../../domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../../domain/identity/arc-machines-port.js';
import type { OperationRecord } from '../../domain/operations/operation.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import type { OperationStore } from '../../domain/operations/operation-store.js';
import { UpstreamRejectedError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { TenantRepository } from '../../domain/tenants/tenant-repository.js';
import { VM_IDENTITY_KIND, vmTargetId, type VmAccessPlan, type VmIdentityState } from '../../domain/vms/vm.js';
import { accessFromInput, identityInput } from '../../domain/vms/vm-job-input.js';
import type { VmRepository } from '../../domain/vms/vm-repository.js';
import { DEFAULT_WAIT, type JobKind, type RetryPolicy } from '../job-kind.js';

export { VM_IDENTITY_KIND } from '../../domain/vms/vm.js';
export { identityInput } from '../../domain/vms/vm-job-input.js';

/** What `vm.identity` needs. */
export interface VmIdentityJobDeps {
  readonly repo: Pick<VmRepository, 'get' | 'scrubCloudInit' | 'setIdentity'>;
  readonly tenants: Pick<TenantRepository, 'listMembers'>;
  readonly arcMachines: ArcMachinesPort;
  readonly access: AccessPort;
  readonly settings: { readonly subscriptionId: string; readonly resourceGroup: string };
  /** Where the extension install's resume state is kept (on the operation record). */
  readonly store: Pick<OperationStore, 'mutate'>;
  readonly clock?: Clock;
  /** Delay between re-checks of the Arc machine and the extension install, ms (default 5 s). */
  readonly recheckMs?: number;
  /** Longest wait for the machine to connect, ms (default 20 minutes). */
  readonly connectTimeoutMs?: number;
}

const RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 60_000 };
const RESUME_KEY = 'extensionResumeState';

interface IdentityInput {
  readonly tenant: string;
  readonly name: string;
  readonly ownerId: string;
  readonly lab?: string;
  readonly access?: VmAccessPlan;
}

function inputOf(op: OperationRecord): IdentityInput {
  const { tenant, name, ownerId, lab } = op.input;
  const access = accessFromInput(op.input);
  return {
    tenant: String(tenant),
    name: String(name),
    ownerId: String(ownerId),
    ...(typeof lab === 'string' ? { lab } : {}),
    ...(access === undefined ? {} : { access }),
  };
}

/**
 * `vm.identity`: after a VM with Arc on runs, waits for its Arc machine to connect (delayed
 * re-checks; a clear failure after the timeout), scrubs the onboarding token from its cloud-init
 * Secret, installs AADSSHLoginForLinux (the install's resume state is kept on the operation, so a
 * crashed worker resumes polling without a second PUT), then grants the VM's owner `administrator`
 * (tenant owners) or `user`. Each step records progress on the VM (its `identity` section).
 */
export function vmIdentityJob(deps: VmIdentityJobDeps): JobKind {
  const clock = deps.clock ?? systemClock;
  const recheckMs = deps.recheckMs ?? 5_000;
  const connectTimeoutMs = deps.connectTimeoutMs ?? 20 * 60_000;
  const resourceIdOf = (i: IdentityInput) =>
    arcResourceId(deps.settings.subscriptionId, deps.settings.resourceGroup, arcMachineName(i.tenant, i.name));
  const record = (i: IdentityInput, state: Omit<VmIdentityState, 'machineResourceId'>) =>
    deps.repo.setIdentity(i.tenant, i.name, { ...state, machineResourceId: resourceIdOf(i) });
  const saveResume = (id: string, resumeState: string) =>
    deps.store.mutate(id, (current) =>
      current.input[RESUME_KEY] === resumeState ? undefined : { ...current, input: { ...current.input, [RESUME_KEY]: resumeState } },
    );

  return {
    kind: VM_IDENTITY_KIND,
    firstStep: 'wait-connected',
    retry: RETRY,
    // The connect wait has its own, clearer deadline (connectTimeoutMs); the engine's comes after it.
    wait: { ...DEFAULT_WAIT, stallTimeoutMs: Math.max(DEFAULT_WAIT.stallTimeoutMs, connectTimeoutMs + 15 * 60_000) },
    steps: {
      'wait-connected': async ({ operation }) => {
        const i = inputOf(operation);
        const machine = await deps.arcMachines.getMachine(arcMachineName(i.tenant, i.name));
        const status = machine?.status ?? 'Pending';
        await record(i, { arcStatus: status, extensionState: 'NotStarted', ready: false });
        if (status === 'Connected') return { type: 'next', step: 'scrub-token', progress: 40 };
        const since = Date.parse(operation.startedAt ?? operation.createdAt);
        if (clock.now().getTime() - since > connectTimeoutMs) {
          throw new UpstreamRejectedError(
            'ARC_NOT_CONNECTED',
            `The Azure Arc machine of VM '${i.name}' did not ${machine === undefined ? 'appear' : `connect (status ${status})`} within ${Math.round(connectTimeoutMs / 60_000)} minutes; check the VM's network and its cloud-init log.`,
          );
        }
        return { type: 'recheck', delayMs: recheckMs, progress: machine === undefined ? 10 : 25 };
      },
      'scrub-token': async ({ operation }) => {
        const i = inputOf(operation);
        await deps.repo.scrubCloudInit(i.tenant, i.name);
        return { type: 'next', step: 'install-extension', progress: 50 };
      },
      'install-extension': async ({ operation }) => {
        const i = inputOf(operation);
        const machine = arcMachineName(i.tenant, i.name);
        const saved = operation.input[RESUME_KEY];
        if (typeof saved !== 'string') {
          const resumeState = await deps.arcMachines.beginInstallExtension(machine, AAD_SSH_LOGIN_EXTENSION);
          await saveResume(operation.id, resumeState);
          await record(i, { arcStatus: 'Connected', extensionState: 'InProgress', ready: false });
          return { type: 'recheck', delayMs: recheckMs, progress: 60 };
        }
        const poll = await deps.arcMachines.pollExtension(machine, AAD_SSH_LOGIN_EXTENSION.name, saved);
        if (poll.resumeState !== saved) await saveResume(operation.id, poll.resumeState);
        if (poll.status === 'Failed') {
          await record(i, { arcStatus: 'Connected', extensionState: 'Failed', ready: false });
          throw new UpstreamRejectedError(
            'ARC_EXTENSION_FAILED',
            `Installing ${AAD_SSH_LOGIN_EXTENSION.name} on VM '${i.name}' failed: ${poll.error ?? 'unknown error'}`,
          );
        }
        if (poll.status === 'Succeeded') {
          await record(i, { arcStatus: 'Connected', extensionState: 'Succeeded', ready: false });
          return { type: 'next', step: 'grant-access', progress: 85 };
        }
        return { type: 'recheck', delayMs: Math.max(recheckMs, (poll.retryAfterSeconds ?? 0) * 1000), progress: 70 };
      },
      'grant-access': async ({ operation }) => {
        const i = inputOf(operation);
        let role = i.access?.ownerRole;
        if (role === undefined) {
          const members = await deps.tenants.listMembers(i.tenant);
          role = members.some((m) => m.principalId === i.ownerId && m.role === 'owner') ? 'administrator' : 'user';
        }
        const scope = resourceIdOf(i);
        // Grants are idempotent (deterministic names): a re-run after a crash converges.
        await deps.access.grant({ scope, role, principalId: i.ownerId, principalType: 'User' });
        for (const g of i.access?.grants ?? []) {
          if (g.principalId !== i.ownerId) await deps.access.grant({ scope, role: g.role, principalId: g.principalId, principalType: 'User' });
        }
        await record(i, { arcStatus: 'Connected', extensionState: 'Succeeded', ready: true });
        return {
          type: 'done',
          result: {
            tenant: i.tenant,
            name: i.name,
            ...(i.lab === undefined ? {} : { lab: i.lab }),
            machineResourceId: scope,
            ownerRole: role,
            grants: (i.access?.grants ?? []).length,
          },
        };
      },
    },
  };
}

/** Starts `vm.identity` as a child of `vm.create` (once: a re-run finds the child it started). */
export function identityChainer(deps: {
  readonly operations: Pick<OperationService, 'start'>;
  readonly children: (parentId: string) => Promise<readonly OperationRecord[]>;
}) {
  return async (parent: OperationRecord, vm: { tenant: string; name: string; ownerId: string }): Promise<void> => {
    const children = await deps.children(parent.id);
    if (children.some((c) => c.kind === VM_IDENTITY_KIND)) return;
    const system = makePrincipal({ id: parent.createdBy, platformAdmin: true });
    await deps.operations.start(system, {
      kind: VM_IDENTITY_KIND,
      tenant: vm.tenant,
      target: { type: 'vm', id: vmTargetId(vm.tenant, vm.name), name: vm.name },
      ownerId: vm.ownerId,
      parentId: parent.id,
      input: identityInput({
        ...vm,
        lab: typeof parent.input['lab'] === 'string' ? parent.input['lab'] : undefined,
        access: accessFromInput(parent.input),
      }),
    });
  };
}
