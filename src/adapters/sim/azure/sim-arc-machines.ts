import { arcResourceId, type ArcExtension, type ArcMachine, type ExtensionState } from '../../../domain/identity/arc-machine.js';
import type { ArcMachinesPort, ExtensionPoll } from '../../../domain/identity/arc-machines-port.js';
import { NotFoundError, ValidationError } from '../../../domain/shared/errors.js';
import type { SimExtensionOp, SimMachine, SimWorld } from './sim-world.js';

interface SimResumeState {
  readonly v: 1;
  readonly kind: 'sim-lro';
  readonly machine: string;
  readonly extension: string;
  readonly operationId: string;
  readonly done?: { readonly status: 'Succeeded' | 'Failed'; readonly error?: string };
}

const key = (machine: string, extension: string) => `${machine}/${extension}`.toLowerCase();

function parseResume(raw: string, machine: string, extension: string): SimResumeState {
  let s: Partial<SimResumeState> | null = null;
  try {
    s = JSON.parse(raw) as Partial<SimResumeState> | null;
  } catch {
    s = null;
  }
  if (s === null || typeof s !== 'object' || s.v !== 1 || s.kind !== 'sim-lro' || typeof s.operationId !== 'string') {
    throw new ValidationError('The extension resume state is not usable: not issued by the simulated Azure.', [
      { field: 'resumeState', message: 'not issued by this adapter' },
    ]);
  }
  if (s.machine?.toLowerCase() !== machine.toLowerCase() || s.extension?.toLowerCase() !== extension.toLowerCase()) {
    throw new ValidationError('The extension resume state is not usable: issued for another machine or extension.', [
      { field: 'resumeState', message: 'issued for another machine or extension' },
    ]);
  }
  return s as SimResumeState;
}

/** The Arc machines port over a simulated subscription (one instance per "process"; state lives in the world). */
export function createSimArcMachines(world: SimWorld): ArcMachinesPort {
  const toMachine = (m: SimMachine): ArcMachine => ({
    name: m.name,
    resourceId: arcResourceId(world.subscriptionId, world.resourceGroup, m.name),
    status: world.statusOf(m) ?? 'Unknown',
    lastStatusChange: new Date(world.statusChangedAt(m)).toISOString(),
    agentVersion: m.agentVersion,
    tags: { ...m.tags },
  });
  const stateOf = (op: SimExtensionOp): { status: ExtensionState; provisioningState: string } => {
    if (world.now() < op.doneAt) return { status: 'InProgress', provisioningState: 'Creating' };
    return op.failure === undefined ? { status: 'Succeeded', provisioningState: 'Succeeded' } : { status: 'Failed', provisioningState: 'Failed' };
  };
  const gone = (name: string) => new NotFoundError('arc_machine', name);

  return {
    async getMachine(name) {
      await world.request('reads');
      const m = world.visibleMachine(name);
      return m === undefined ? undefined : toMachine(m);
    },

    async listMachines() {
      await world.request('reads');
      return [...world.machines.values()]
        .filter((m) => world.statusOf(m) !== undefined)
        .map(toMachine)
        .sort((a, b) => a.name.localeCompare(b.name));
    },

    async beginInstallExtension(machineName, spec) {
      await world.request('writes');
      const m = world.visibleMachine(machineName);
      if (m === undefined) throw gone(machineName);
      world.countExtensionPut();
      const planned = world.extensionFailures.get(m.name.toLowerCase());
      world.extensionFailures.delete(m.name.toLowerCase());
      const failure =
        planned ?? (world.statusOf(m) === 'Connected' ? undefined : 'MachineNotConnected: the Connected Machine agent is not connected.');
      const now = world.now();
      const op: SimExtensionOp = {
        id: world.nextId('op'),
        machine: m.name,
        extension: spec.name,
        publisher: spec.publisher,
        type: spec.type,
        startedAt: now,
        doneAt: now + world.extensionInstallMs,
        failure,
      };
      world.extensionOps.set(op.id, op);
      world.extensions.set(key(m.name, spec.name), op.id);
      const state: SimResumeState = { v: 1, kind: 'sim-lro', machine: machineName, extension: spec.name, operationId: op.id };
      return JSON.stringify(state);
    },

    async pollExtension(machineName, extensionName, resumeState): Promise<ExtensionPoll> {
      const s = parseResume(resumeState, machineName, extensionName);
      if (s.done !== undefined) return { ...s.done, resumeState };
      await world.request('reads');
      const op = world.extensionOps.get(s.operationId);
      if (op === undefined) throw new NotFoundError('extension_operation', `${machineName}/${extensionName}`);
      const { status } = stateOf(op);
      if (status === 'InProgress') return { status, resumeState, retryAfterSeconds: 1 };
      const done = status === 'Failed' ? { status, error: op.failure ?? 'Failed' } : { status };
      return { ...done, resumeState: JSON.stringify({ ...s, done }) };
    },

    async getExtension(machineName, extensionName) {
      await world.request('reads');
      if (world.visibleMachine(machineName) === undefined) return undefined;
      const opId = world.extensions.get(key(machineName, extensionName));
      const op = opId === undefined ? undefined : world.extensionOps.get(opId);
      if (op === undefined) return undefined;
      const { status, provisioningState } = stateOf(op);
      const ext: ArcExtension = { name: op.extension, publisher: op.publisher, type: op.type, state: status, provisioningState };
      return ext;
    },

    async deleteMachine(name) {
      await world.request('deletes');
      const m = world.machines.get(name.toLowerCase());
      if (m === undefined) return;
      world.machines.delete(name.toLowerCase());
      for (const k of [...world.extensions.keys()]) if (k.startsWith(`${name.toLowerCase()}/`)) world.extensions.delete(k);
      const scope = arcResourceId(world.subscriptionId, world.resourceGroup, m.name).toLowerCase();
      for (const [id, a] of world.assignments) if (a.scope.toLowerCase() === scope) world.assignments.delete(id);
    },
  };
}
