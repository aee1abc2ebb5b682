import { describe, expect, it } from 'vitest';
import { deriveVmState, refuseAction, type VmObservation } from '../../src/domain/vms/vm-state.js';

const obs = (printableStatus: string | undefined, extra: Partial<VmObservation> = {}): VmObservation => ({
  ...(printableStatus === undefined ? {} : { printableStatus }),
  conditions: [],
  ...extra,
});

describe('VM state derivation', () => {
  it.each([
    ['Stopped', 'Stopped', ['start']],
    ['Provisioning', 'Provisioning', ['stop']],
    ['WaitingForVolumeBinding', 'Provisioning', ['stop']],
    ['Starting', 'Starting', ['stop']],
    ['Stopping', 'Stopping', []],
    ['Terminating', 'Stopping', []],
    ['Paused', 'Paused', ['stop', 'restart']],
  ] as const)('maps %s to %s with actions %j', (ps, state, actions) => {
    const d = deriveVmState(obs(ps));
    expect(d.state).toBe(state);
    expect(d.availableActions).toEqual(actions);
  });

  it('a running VM with a running VMI can stop, restart and migrate', () => {
    const d = deriveVmState(obs('Running', { vmi: { phase: 'Running', conditions: [], migrating: false } }));
    expect(d).toMatchObject({ state: 'Running', availableActions: ['stop', 'restart', 'migrate'], liveMigratable: true });
  });

  it('a VMI with LiveMigratable=False cannot migrate, and the refusal says why', () => {
    const d = deriveVmState(
      obs('Running', {
        vmi: { phase: 'Running', migrating: false, conditions: [{ type: 'LiveMigratable', status: 'False', reason: 'DisksNotLiveMigratable' }] },
      }),
    );
    expect(d.availableActions).toEqual(['stop', 'restart']);
    expect(refuseAction(d, 'migrate')).toMatch(/not live-migratable/);
    expect(refuseAction(d, 'stop')).toBeUndefined();
  });

  it('a VMI being migrated makes the VM Migrating with no actions', () => {
    expect(deriveVmState(obs('Running', { vmi: { phase: 'Running', conditions: [], migrating: true } }))).toMatchObject({
      state: 'Migrating',
      availableActions: [],
    });
  });

  it.each(['ErrorUnschedulable', 'DataVolumeError', 'CrashLoopBackOff', 'ErrImagePull', 'ImagePullBackOff', 'ErrorPvcNotFound', 'Unknown'])(
    '%s is Error with KubeVirt reason kept',
    (ps) => {
      const d = deriveVmState(obs(ps, { conditions: [{ type: 'Failure', status: 'True', message: 'no node fits' }] }));
      expect(d).toMatchObject({ state: 'Error', reason: ps, message: 'no node fits' });
      expect(d.availableActions).toContain('stop');
    },
  );

  it('a printableStatus it does not know is Error with that status as reason', () => {
    expect(deriveVmState(obs('SomethingNew'))).toMatchObject({ state: 'Error', reason: 'SomethingNew' });
  });

  it('explains a refused action with the current state', () => {
    expect(refuseAction(deriveVmState(obs('Stopped')), 'stop')).toBe('The VM is Stopped; it can start.');
  });
});
