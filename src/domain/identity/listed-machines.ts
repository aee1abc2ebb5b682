import type { ArcMachine } from './arc-machine.js';
import type { ArcMachinesPort } from './arc-machines-port.js';

/**
 * An `ArcMachinesPort` whose `getMachine` answers from one `listMachines()` snapshot of the
 * resource group, at most `maxAgeMs` old, refreshed by one call however many callers wait. Made
 * for waiting on many machines at once (a lab's VMs connecting): N waiters cost one list call per
 * refresh instead of N reads. Everything else passes through. A machine's status may lag by up to
 * `maxAgeMs`, which waiting tolerates.
 */
export function withListedMachineStatus(port: ArcMachinesPort, opts: { maxAgeMs: number; now?: () => number }): ArcMachinesPort {
  const now = opts.now ?? Date.now;
  let snapshot: { at: number; byName: Map<string, ArcMachine> } | undefined;
  let refreshing: Promise<Map<string, ArcMachine>> | undefined;

  async function current(): Promise<Map<string, ArcMachine>> {
    if (snapshot !== undefined && now() - snapshot.at < opts.maxAgeMs) return snapshot.byName;
    refreshing ??= port
      .listMachines()
      .then((machines) => {
        const byName = new Map(machines.map((m) => [m.name.toLowerCase(), m]));
        snapshot = { at: now(), byName };
        return byName;
      })
      .finally(() => {
        refreshing = undefined;
      });
    return refreshing;
  }

  return {
    getMachine: async (name) => (await current()).get(name.toLowerCase()),
    listMachines: () => port.listMachines(),
    beginInstallExtension: (machine, spec) => port.beginInstallExtension(machine, spec),
    pollExtension: (machine, extension, state) => port.pollExtension(machine, extension, state),
    getExtension: (machine, extension) => port.getExtension(machine, extension),
    deleteMachine: async (name) => {
      await port.deleteMachine(name);
      snapshot?.byName.delete(name.toLowerCase());
    },
  };
}
