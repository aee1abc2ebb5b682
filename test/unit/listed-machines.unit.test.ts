import { describe, expect, it } from 'vitest';
import type { ArcMachine } from '../../src/domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../../src/domain/identity/arc-machines-port.js';
import { withListedMachineStatus } from '../../src/domain/identity/listed-machines.js';

function fakePort(machines: ArcMachine[]) {
  const calls = { list: 0, get: 0 };
  const port: ArcMachinesPort = {
    getMachine: async (name) => {
      calls.get += 1;
      return machines.find((m) => m.name === name);
    },
    listMachines: async () => {
      calls.list += 1;
      await Promise.resolve(); // answers later: callers that ask meanwhile must share this call
      return machines.map((m) => ({ ...m }));
    },
    beginInstallExtension: async () => 'state',
    pollExtension: async (_m, _e, resumeState) => ({ status: 'Succeeded', resumeState }),
    getExtension: async () => undefined,
    deleteMachine: async () => undefined,
  };
  return { port, calls };
}

const machine = (name: string, status: ArcMachine['status']): ArcMachine => ({ name, resourceId: `/x/${name}`, status, tags: {} });

describe('Arc machine status from one list call', () => {
  it('answers many waiting VMs with a single list call, and refreshes after maxAgeMs', async () => {
    let clock = 0;
    const machines = Array.from({ length: 50 }, (_, i) => machine(`vm-${i}`, i % 2 === 0 ? 'Connected' : 'Disconnected'));
    const { port, calls } = fakePort(machines);
    const listed = withListedMachineStatus(port, { maxAgeMs: 1000, now: () => clock });
    const seen = await Promise.all(machines.map((m) => listed.getMachine(m.name)));
    expect(seen.map((m) => m?.status)).toEqual(machines.map((m) => m.status));
    expect(calls).toEqual({ list: 1, get: 0 });
    expect(await listed.getMachine('absent')).toBeUndefined();
    expect(calls.list).toBe(1);
    clock = 1001;
    await listed.getMachine('vm-1');
    expect(calls.list).toBe(2);
  });
});
