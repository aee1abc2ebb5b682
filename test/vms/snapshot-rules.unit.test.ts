import { describe, expect, it } from 'vitest';
import { featureGateProblem, snapshotObject, snapshotRecordOf } from '../../src/adapters/kubernetes/snapshot-objects.js';
import { schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/index.js';
import { generatedSnapshotName, restoreName, snapshotNameIssues } from '../../src/domain/vms/snapshot.js';

describe('snapshot names', () => {
  it('are generated as <vm>-<yyyymmdd>-<hhmmss>-<suffix> in UTC, cut to a DNS label for long VM names', () => {
    const at = new Date('2026-09-01T08:05:09.123Z');
    expect(generatedSnapshotName('web-1', at, 'a1b2')).toBe('web-1-20260901-080509-a1b2');
    const long = generatedSnapshotName(`${'x'.repeat(50)}-abc`, at, 'ffff');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long.endsWith('-20260901-080509-ffff')).toBe(true);
    expect(snapshotNameIssues(long)).toEqual([]);
  });

  it('must be DNS labels of at most 63 characters', () => {
    expect(snapshotNameIssues('before-upgrade')).toEqual([]);
    expect(snapshotNameIssues('Before')).toHaveLength(1);
    expect(snapshotNameIssues('a'.repeat(64))[0]?.field).toBe('/name');
    expect(snapshotNameIssues('-x', '/snapshot')[0]?.field).toBe('/snapshot');
  });

  it('a restore is named after its VM and operation, so a re-run finds its own', () => {
    expect(restoreName('web-1', '5D0C6F1E-8a57-4f0e')).toBe('web-1-restore-5d0c6f1e');
  });
});

describe('the KubeVirt feature gate', () => {
  const kv = (dev: Record<string, unknown>) => ({
    metadata: { name: 'kubevirt', namespace: 'kubevirt' },
    spec: { configuration: { developerConfiguration: dev } },
  });

  it('is on when Snapshot is in featureGates and not in disabledFeatureGates', () => {
    expect(featureGateProblem(kv({ featureGates: ['LiveMigration', 'Snapshot'] }) as never)).toBeUndefined();
    expect(featureGateProblem(kv({ featureGates: ['Snapshot'], disabledFeatureGates: ['Snapshot'] }) as never)).toContain('featureGates');
    expect(featureGateProblem(kv({}) as never)).toContain('kubevirt/kubevirt');
    expect(featureGateProblem(undefined)).toContain('no KubeVirt CR');
  });
});

describe('the VirtualMachineSnapshot written', () => {
  it('passes the upstream schema and maps back to the record it came from', () => {
    const obj = snapshotObject({ tenant: 'cs101', vm: 'web-1', name: 'before', sizeGi: 20, operationId: 'op-1' });
    expect(
      schemaValidatorFor().validate({ doc: 'kubevirt', definition: 'v1beta1.VirtualMachineSnapshot' }, structuredClone(obj) as never).causes,
    ).toEqual([]);
    expect(snapshotRecordOf(obj)).toMatchObject({
      tenant: 'cs101',
      vm: 'web-1',
      name: 'before',
      phase: 'Unknown',
      readyToUse: false,
      online: false,
      sizeGi: 20,
      operationId: 'op-1',
      deleting: false,
    });
  });
});
