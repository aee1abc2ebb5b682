import {
  HybridComputeManagementClient,
  type Machine,
  type MachineExtension,
  type MachineExtensionsCreateOrUpdateOptionalParams,
} from '@azure/arm-hybridcompute';
import type { TokenCredential } from '@azure/identity';
import {
  arcResourceId,
  extensionStateOf,
  type ArcExtension,
  type ArcMachine,
  type ArcMachineStatus,
  type ExtensionSpec,
} from '../../domain/identity/arc-machine.js';
import type { ArcMachinesPort, ExtensionPoll } from '../../domain/identity/arc-machines-port.js';
import { NotFoundError } from '../../domain/shared/errors.js';
import type { ArmBudget } from './arm-budget.js';
import { retryAfterSecondsOf, translateArmError, type ArmCallContext } from './arm-errors.js';
import { decodeResumeState, encodeResumeState } from './extension-resume-state.js';
import { silentAzureLogger, type AzureLogger } from './logger.js';
import { armClientOptions, armEndpoint, assertAzureArmSettings, type AzureArmSettings } from './settings.js';

export interface ArmArcMachinesDeps {
  /** The control plane's own ARM credential (workload identity in AKS, a service principal elsewhere). */
  readonly credential: TokenCredential;
  readonly settings: AzureArmSettings;
  /** The budget of the principal behind `credential`, shared with every other client using it. */
  readonly budget: ArmBudget;
  readonly logger?: AzureLogger;
}

type OnResponse = NonNullable<MachineExtensionsCreateOrUpdateOptionalParams['onResponse']>;

/** The last raw answer the SDK saw during one LRO step (status body and `Retry-After`). */
function lastResponseRecorder() {
  let body: unknown;
  let retryAfterSeconds: number | undefined;
  const onResponse: OnResponse = (raw) => {
    body = raw.parsedBody;
    retryAfterSeconds = retryAfterSecondsOf((h) => raw.headers.get(h));
  };
  return {
    onResponse,
    errorText(fallback: string): string {
      const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (err !== undefined && typeof err.code === 'string') {
        return typeof err.message === 'string' ? `${err.code}: ${err.message}` : err.code;
      }
      return fallback.replace(/^The long-running operation has failed\.?\s*/, '') || 'The extension installation failed.';
    },
    retryAfter: () => (retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  };
}

const STATUSES: readonly ArcMachineStatus[] = ['Connected', 'Disconnected', 'Error'];

/** Azure Arc machines of the configured resource group, over `@azure/arm-hybridcompute`. */
export function createArmArcMachines(deps: ArmArcMachinesDeps): ArcMachinesPort {
  const { settings } = deps;
  assertAzureArmSettings(settings);
  const logger = deps.logger ?? silentAzureLogger;
  const rg = settings.resourceGroup;
  const endpoint = armEndpoint(settings);
  const client = new HybridComputeManagementClient(deps.credential, settings.subscriptionId, armClientOptions(settings, deps.budget, logger));

  const toMachine = (m: Machine): ArcMachine => {
    const name = m.name ?? '';
    const status = STATUSES.find((s) => s.toLowerCase() === (m.properties?.status ?? '').toLowerCase()) ?? 'Unknown';
    const changed = m.properties?.lastStatusChange;
    return {
      name,
      resourceId: arcResourceId(settings.subscriptionId, rg, name),
      status,
      ...(changed instanceof Date && !Number.isNaN(changed.getTime()) ? { lastStatusChange: changed.toISOString() } : {}),
      ...(m.properties?.agentVersion ? { agentVersion: m.properties.agentVersion } : {}),
      tags: { ...(m.tags ?? {}) },
    };
  };
  const toExtension = (e: MachineExtension, fallbackName: string): ArcExtension => ({
    name: e.name ?? fallbackName,
    ...(e.properties?.publisher ? { publisher: e.properties.publisher } : {}),
    ...(e.properties?.type ? { type: e.properties.type } : {}),
    ...(e.properties?.typeHandlerVersion ? { typeHandlerVersion: e.properties.typeHandlerVersion } : {}),
    state: extensionStateOf(e.properties?.provisioningState),
    provisioningState: e.properties?.provisioningState ?? 'Unknown',
  });

  const call = async <T>(ctx: ArmCallContext, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const translated = translateArmError(err, ctx);
      logger.debug({ what: ctx.what, code: (translated as { code?: unknown }).code ?? null }, 'Azure call failed');
      throw translated;
    }
  };
  const orUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  /** True when `poll()` threw because the operation ended badly (failed, canceled), not because a read failed. */
  const endedBadly = (err: unknown, state: { error?: unknown; isCancelled?: boolean }) =>
    (err as { name?: unknown } | null)?.name !== 'RestError' && (state.error !== undefined || state.isCancelled === true);
  /**
   * The poller's resumable state, reduced to what `resumeFrom` needs: the polling configuration ARM
   * gave (URLs, mode). Undefined until the PUT was answered. Same shape as `poller.toString()`, minus
   * any result or error object.
   */
  const resumable = (poller: { getOperationState(): object }): string | undefined => {
    const config = (poller.getOperationState() as { config?: unknown }).config;
    return config === undefined ? undefined : JSON.stringify({ state: { config, isStarted: true } });
  };
  const failure = (state: { error?: Error; isCancelled?: boolean }, rec: ReturnType<typeof lastResponseRecorder>) =>
    state.error !== undefined
      ? rec.errorText(state.error.message)
      : state.isCancelled === true
        ? 'Canceled: the installation was canceled.'
        : undefined;

  return {
    getMachine: (name) =>
      orUndefined(
        call({ what: `get Arc machine ${name}`, resource: 'arc_machine', name }, async () => toMachine(await client.machines.get(rg, name))),
      ),

    listMachines: () =>
      call({ what: `list Arc machines of ${rg}` }, async () => {
        const out: ArcMachine[] = [];
        for await (const m of client.machines.listByResourceGroup(rg)) out.push(toMachine(m));
        return out.sort((a, b) => a.name.localeCompare(b.name));
      }),

    beginInstallExtension: (machineName, spec: ExtensionSpec) =>
      call({ what: `install extension ${spec.name} on ${machineName}`, resource: 'arc_machine', name: machineName }, async () => {
        const rec = lastResponseRecorder();
        const poller = await client.machineExtensions.beginCreateOrUpdate(
          rg,
          machineName,
          spec.name,
          {
            location: settings.location,
            properties: {
              publisher: spec.publisher,
              type: spec.type,
              autoUpgradeMinorVersion: spec.autoUpgradeMinorVersion ?? true,
              ...(spec.typeHandlerVersion === undefined ? {} : { typeHandlerVersion: spec.typeHandlerVersion }),
              ...(spec.settings === undefined ? {} : { settings: { ...spec.settings } }),
            },
          },
          { onResponse: rec.onResponse, updateIntervalInMs: 0 },
        );
        const base = { v: 1, kind: 'arm-lro', machine: machineName, extension: spec.name } as const;
        try {
          await poller.poll();
        } catch (err) {
          // The first poll() sends the PUT, then a first status read. When only that read failed, the
          // operation runs: hand out its resume state so that no second PUT is ever needed.
          const started = resumable(poller);
          if ((err as { name?: unknown } | null)?.name === 'RestError' && started !== undefined) {
            logger.warn({ machine: machineName, extension: spec.name }, 'extension installation started; its first status read failed');
            return encodeResumeState({ ...base, poller: started });
          }
          if (!endedBadly(err, poller.getOperationState())) throw err;
        }
        logger.info({ machine: machineName, extension: spec.name }, 'extension installation started');
        const state = poller.getOperationState();
        const error = failure(state, rec);
        if (error !== undefined) return encodeResumeState({ ...base, done: { status: 'Failed', error } });
        if (state.isCompleted === true) return encodeResumeState({ ...base, done: { status: 'Succeeded' } });
        return encodeResumeState({ ...base, poller: resumable(poller) ?? poller.toString() });
      }),

    pollExtension: async (machineName, extensionName, resumeState): Promise<ExtensionPoll> => {
      const state = decodeResumeState(resumeState, machineName, extensionName, endpoint);
      if (state.done !== undefined) {
        return { status: state.done.status, ...(state.done.error === undefined ? {} : { error: state.done.error }), resumeState };
      }
      const resumeFrom = state.poller ?? '';
      const ctx = {
        what: `poll extension ${extensionName} on ${machineName}`,
        resource: 'extension_operation',
        name: `${machineName}/${extensionName}`,
      };
      return call(ctx, async () => {
        const rec = lastResponseRecorder();
        const poller = await client.machineExtensions.beginCreateOrUpdate(
          rg,
          machineName,
          extensionName,
          { location: settings.location },
          { resumeFrom, onResponse: rec.onResponse, updateIntervalInMs: 0 },
        );
        try {
          await poller.poll();
        } catch (err) {
          // A RestError here is a failed status read (after the SDK's retries), not the operation's
          // outcome: surface it and let the caller poll again with the previous resume state.
          if (!endedBadly(err, poller.getOperationState())) throw err;
        }
        const s = poller.getOperationState();
        const base = { v: 1, kind: 'arm-lro', machine: machineName, extension: extensionName } as const;
        const error = failure(s, rec);
        if (error !== undefined) {
          logger.warn({ machine: machineName, extension: extensionName, error }, 'extension installation failed');
          return { status: 'Failed', error, resumeState: encodeResumeState({ ...base, done: { status: 'Failed', error } }) };
        }
        if (s.isCompleted === true) {
          logger.info({ machine: machineName, extension: extensionName }, 'extension installed');
          return { status: 'Succeeded', resumeState: encodeResumeState({ ...base, done: { status: 'Succeeded' } }) };
        }
        return { status: 'InProgress', resumeState: encodeResumeState({ ...base, poller: resumable(poller) ?? resumeFrom }), ...rec.retryAfter() };
      });
    },

    getExtension: (machineName, extensionName) =>
      orUndefined(
        call({ what: `get extension ${extensionName} on ${machineName}`, resource: 'extension', name: extensionName }, async () =>
          toExtension(await client.machineExtensions.get(rg, machineName, extensionName), extensionName),
        ),
      ),

    deleteMachine: async (name) => {
      await orUndefined(
        call({ what: `delete Arc machine ${name}`, resource: 'arc_machine', name }, async () => {
          await client.machines.delete(rg, name);
          logger.info({ machine: name }, 'Arc machine deleted');
        }),
      );
    },
  };
}
