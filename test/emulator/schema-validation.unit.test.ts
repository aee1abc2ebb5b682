import { describe, expect, test } from 'vitest';
import { isCidr, schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/schema-validator.js';
import type { SchemaRef } from '../../src/adapters/sim/kube-emulator/resources.js';
import { minimalVm } from './fixtures.js';

const validator = schemaValidatorFor();
const VM: SchemaRef = { doc: 'kubevirt', definition: 'v1.VirtualMachine' };
const DV: SchemaRef = { doc: 'cdi', definition: 'v1beta1.DataVolume' };
const core = (definition: string): SchemaRef => ({ doc: 'core', definition });

type Json = Record<string, unknown>;
const at = (obj: Json, path: string): Json => path.split('.').reduce<Json>((o, k) => o[k] as Json, obj);

/** Offending field paths, sorted. */
function fields(ref: SchemaRef, obj: Json): string[] {
  return validator
    .validate(ref, obj)
    .causes.map((c) => c.field ?? '')
    .sort();
}

describe('KubeVirt VirtualMachine', () => {
  test('a minimal labplane VM (runStrategy, dataVolumeTemplates, cloudInitNoCloud secretRef, masquerade, tolerations, nodeSelector) is valid', () => {
    const result = validator.validate(VM, minimalVm('vm1', 'lab-1'));
    expect(result.causes).toEqual([]);
  });

  test('a VM with server-written status and metadata validates (lastProbeTime: null is pruned)', () => {
    const vm = minimalVm('vm1', 'lab-1');
    vm.status = {
      printableStatus: 'Running',
      ready: true,
      created: true,
      conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    };
    Object.assign(vm.metadata as Json, { uid: 'u', resourceVersion: '3', generation: 2, creationTimestamp: '2026-01-01T00:00:00Z' });
    expect(validator.validate(VM, vm).causes).toEqual([]);
  });

  test.each([
    [
      'spec.runStrategyy',
      (vm: Json) => {
        at(vm, 'spec').runStrategyy = 'Always';
      },
    ],
    [
      'spec.template.spec.domain.devices.interfaces[0].masquerad',
      (vm: Json) => {
        (at(vm, 'spec.template.spec.domain.devices').interfaces as Json[])[0] = { name: 'default', masquerad: {} };
      },
    ],
    [
      'spec.template.spec.domain.devices.interfaces[0].masquerade.foo',
      (vm: Json) => {
        (at(vm, 'spec.template.spec.domain.devices').interfaces as Json[])[0] = { name: 'default', masquerade: { foo: 1 } };
      },
    ],
    [
      'spec.template.spec.volumes[1].cloudInitNoCloud.secretref',
      (vm: Json) => {
        (at(vm, 'spec.template.spec').volumes as Json[])[1] = { name: 'cloudinit', cloudInitNoCloud: { secretref: { name: 'x' } } };
      },
    ],
    [
      'spec.template.spec.tolerations[0].efect',
      (vm: Json) => {
        at(vm, 'spec.template.spec').tolerations = [{ key: 'k', efect: 'NoSchedule' }];
      },
    ],
    [
      'spec.dataVolumeTemplates[0].spec.storage.storageClass',
      (vm: Json) => {
        ((at(vm, 'spec').dataVolumeTemplates as Json[])[0]?.spec as Json).storage = { storageClass: 'kv-standard' };
      },
    ],
    [
      'metadata.label',
      (vm: Json) => {
        at(vm, 'metadata').label = { a: 'b' };
      },
    ],
  ])('an unknown field %s is rejected with its path', (field, mutate) => {
    const vm = minimalVm('vm1', 'lab-1');
    mutate(vm);
    const causes = validator.validate(VM, vm).causes;
    expect(causes).toContainEqual({ reason: 'FieldValueInvalid', field, message: `unknown field "${field}"` });
  });

  test('wrong types, invalid quantities and missing required fields are reported per field', () => {
    const vm = minimalVm('vm1', 'lab-1');
    at(vm, 'spec.template.spec.domain.cpu').cores = 'two';
    at(vm, 'spec.template.spec.domain.resources.requests').memory = '4GB';
    at(vm, 'spec.template.spec').nodeSelector = { workload: 1 };
    (at(vm, 'spec.template.spec.domain.devices').interfaces as Json[]).push({ masquerade: {} });
    const causes = validator.validate(VM, vm).causes;
    expect(causes.map((c) => [c.field, c.reason])).toEqual(
      expect.arrayContaining([
        ['spec.template.spec.domain.cpu.cores', 'FieldValueInvalid'],
        ['spec.template.spec.domain.resources.requests.memory', 'FieldValueInvalid'],
        ['spec.template.spec.nodeSelector.workload', 'FieldValueInvalid'],
        ['spec.template.spec.domain.devices.interfaces[1].name', 'FieldValueRequired'],
      ]),
    );
    expect(causes.find((c) => c.field === 'spec.template.spec.domain.cpu.cores')?.message).toContain('must be of type integer');
  });

  test('a missing template is required', () => {
    const vm = minimalVm('vm1', 'lab-1');
    delete at(vm, 'spec').template;
    expect(fields(VM, vm)).toContain('spec.template');
  });

  test('Warn and Ignore drop unknown fields from the object instead of failing', () => {
    const vm = minimalVm('vm1', 'lab-1');
    at(vm, 'spec').runStrategyy = 'Always';
    const warned = validator.validate(VM, vm, 'Warn');
    expect(warned.causes).toEqual([]);
    expect(warned.warnings).toEqual(['unknown field "spec.runStrategyy"']);
    expect(at(vm, 'spec').runStrategyy).toBeUndefined();
  });

  test('validation is fast once compiled (< 1 ms per object)', () => {
    const copies = Array.from({ length: 250 }, () => minimalVm('vm1', 'lab-1'));
    validator.validate(VM, minimalVm('vm1', 'lab-1'));
    const batches: number[] = [];
    for (let b = 0; b < 5; b += 1) {
      const start = performance.now();
      for (const vm of copies.slice(b * 50, b * 50 + 50)) validator.validate(VM, vm);
      batches.push((performance.now() - start) / 50);
    }
    expect(Math.min(...batches)).toBeLessThan(1);
  });
});

describe('CDI DataVolume', () => {
  const dv = (): Json => ({
    apiVersion: 'cdi.kubevirt.io/v1beta1',
    kind: 'DataVolume',
    metadata: { name: 'ubuntu', namespace: 'img' },
    spec: { source: { http: { url: 'https://example.org/u.img' } }, storage: { resources: { requests: { storage: '10Gi' } } } },
    status: { phase: 'ImportInProgress', progress: '45.2%' },
  });
  test('an http import with status is valid; typos are not', () => {
    expect(fields(DV, dv())).toEqual([]);
    const bad = dv();
    at(bad, 'spec.source').http = { uri: 'https://example.org/u.img' };
    expect(fields(DV, bad)).toEqual(['spec.source.http.uri', 'spec.source.http.url'].sort());
  });
});

describe('core kinds', () => {
  const np = (spec: Json): Json => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec });
  test('NetworkPolicy: policyTypes values, CIDRs and unknown fields', () => {
    expect(
      fields(
        core('NetworkPolicy'),
        np({
          podSelector: {},
          policyTypes: ['Ingress', 'Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['169.254.169.254/32'] } }] }],
        }),
      ),
    ).toEqual([]);
    expect(fields(core('NetworkPolicy'), np({ podSelector: {}, policyTypes: ['Ingres'] }))).toEqual(['spec.policyTypes[0]']);
    expect(
      fields(
        core('NetworkPolicy'),
        np({ podSelector: {}, egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33', except: ['fd00::/64', '1.2.3.4'] } }] }] }),
      ),
    ).toEqual(['spec.egress[0].to[0].ipBlock.cidr', 'spec.egress[0].to[0].ipBlock.except[1]']);
    expect(fields(core('NetworkPolicy'), np({ podSelector: {}, ingres: [] }))).toEqual(['spec.ingres']);
  });

  test('Secret data must be base64 and RoleBinding needs a roleRef', () => {
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { ok: 'aGVsbG8=', bad: 'not base64!' } };
    expect(fields(core('Secret'), secret)).toEqual(['data.bad']);
    expect(fields(core('RoleBinding'), { metadata: { name: 'rb' }, subjects: [{ kind: 'Robot', name: 'x' }] })).toEqual([
      'roleRef',
      'subjects[0].kind',
    ]);
  });

  test('LimitRange type values and quantities', () => {
    const lr = { metadata: { name: 'l' }, spec: { limits: [{ type: 'VM', max: { cpu: '2x' } }] } };
    expect(fields(core('LimitRange'), lr)).toEqual(['spec.limits[0].max.cpu', 'spec.limits[0].type']);
  });

  test('CIDR parsing', () => {
    expect(['10.0.0.0/8', '0.0.0.0/0', 'fd00::/64', '::/0', '2001:db8::1/128'].every(isCidr)).toBe(true);
    expect(['10.0.0.0', '10.0.0.256/8', '10.0.0.0/33', 'fd00:::1/64', 'x/1', '1.2.3.4/8/1'].some(isCidr)).toBe(false);
  });
});
