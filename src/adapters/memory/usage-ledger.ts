import type { UsageLedger, UsageVmRef } from '../../domain/usage/ports.js';
import type { PowerTransition } from '../../domain/usage/usage-meter.js';

interface VmLedger {
  readonly transitions: Map<string, PowerTransition>;
  readonly checkpoints: Map<string, string>;
}

const keyOf = (vm: UsageVmRef): string => `${vm.tenant}/${vm.name}`;

/**
 * In-memory `UsageLedger` (the embedded default and tests): the same semantics as the Redis one
 * (`test/contracts/usage-ledger.contract.ts`), gone with the process.
 */
export function createMemoryUsageLedger(): UsageLedger {
  const vms = new Map<string, VmLedger>();
  const ledgerOf = (vm: UsageVmRef): VmLedger => {
    let l = vms.get(keyOf(vm));
    if (l === undefined) {
      l = { transitions: new Map(), checkpoints: new Map() };
      vms.set(keyOf(vm), l);
    }
    return l;
  };
  return {
    async record(vm, transitions) {
      const l = ledgerOf(vm);
      for (const t of transitions) if (!l.transitions.has(t.id)) l.transitions.set(t.id, { id: t.id, at: t.at, state: t.state });
    },
    async transitions(vm) {
      return [...(vms.get(keyOf(vm))?.transitions.values() ?? [])];
    },
    async checkpoint(vm, runId, at) {
      const l = ledgerOf(vm);
      const known = l.checkpoints.get(runId);
      // Two meters may race: the later instant wins, whoever writes last.
      if (known === undefined || Date.parse(at) > Date.parse(known)) l.checkpoints.set(runId, new Date(at).toISOString());
    },
    async lastCheckpoint(vm, runId) {
      return vms.get(keyOf(vm))?.checkpoints.get(runId);
    },
    async forget(vm) {
      vms.delete(keyOf(vm));
    },
  };
}
