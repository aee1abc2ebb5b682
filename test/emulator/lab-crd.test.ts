import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { defaultCrdsDir } from '../../src/adapters/sim/kube-emulator/package-paths.js';
import { createNamespace, expectApiError, startCluster, type Cluster } from './support.js';

type Json = Record<string, unknown>;

const NS = 'lab-crd';
const labApi = <T extends object>(extra: T) => ({ group: 'labplane.io', version: 'v1alpha1', plural: 'labs', namespace: NS, ...extra });
const TEMPLATE = { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 2, memoryGi: 4, diskGi: 20, storageClass: 'kv-standard' };
const STUDENT = '0b7c6a1e-8f3d-4c2b-9a1e-5d6f7a8b9c0d';

function lab(name: string, spec: Json = {}): Json {
  return { apiVersion: 'labplane.io/v1alpha1', kind: 'Lab', metadata: { name }, spec: { template: TEMPLATE, ...spec } };
}

describe('Lab objects are validated against deploy/crds/labs.labplane.io.yaml', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await startCluster();
    await createNamespace(c, NS);
  });
  afterAll(async () => {
    await c.emu.close();
  });

  test('a valid Lab is stored with the CRD defaults filled in, as a real API server does', async () => {
    const created = (await c.custom.createNamespacedCustomObject(labApi({ body: lab('os-101', { students: [{ id: STUDENT }] }) }))) as Json;
    expect(created.spec).toEqual({
      template: { ...TEMPLATE, arc: false, studentRole: 'user', sshPublicKeys: [] },
      students: [{ id: STUDENT }],
      instructors: [],
      schedules: [],
      dropGracePeriodHours: 72,
      endGracePeriodDays: 14,
    });
    expect((created.metadata as Json).generation).toBe(1);
  });

  test.each([
    ['an unknown spec field', { seats: 40 }, 'spec.seats'],
    ['an unknown template field', { template: { ...TEMPLATE, gpu: 1 } }, 'spec.template.gpu'],
    ['cpu given as a string', { template: { ...TEMPLATE, cpu: 'two' } }, 'spec.template.cpu'],
    ['an unsupported storage class', { template: { ...TEMPLATE, storageClass: 'fast' } }, 'spec.template.storageClass'],
    ['a student id that is not a GUID', { students: [{ id: 'alice' }] }, 'spec.students[0].id'],
    ['a schedule day that is not a weekday', { schedules: [{ name: 'w', days: ['monday'], timeZone: 'UTC' }] }, 'spec.schedules[0].days[0]'],
    ['a fractional grace period', { dropGracePeriodHours: 1.5 }, 'spec.dropGracePeriodHours'],
  ])('%s is refused with 422 naming the field, and nothing is stored', async (_what, spec, field) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const err = await expectApiError(c.custom.createNamespacedCustomObject(labApi({ body: lab(name, spec) })), 422);
    expect(err.reason).toBe('Invalid');
    expect(err.details?.causes?.map((x) => x.field)).toContain(field);
    expect(c.emu.store.get('labs.labplane.io', NS, name)).toBeUndefined();
  });

  test('a roster holding the same student twice is refused (list-type map keyed by id)', async () => {
    const err = await expectApiError(
      c.custom.createNamespacedCustomObject(labApi({ body: lab('dup', { students: [{ id: STUDENT }, { id: STUDENT, email: 'x@uni.edu' }] }) })),
      422,
    );
    expect(err.details?.causes?.[0]?.field).toBe('spec.students');
    expect(err.details?.causes?.[0]?.message).toContain('Duplicate value');
  });

  test('a Lab without spec is refused', async () => {
    const err = await expectApiError(
      c.custom.createNamespacedCustomObject(labApi({ body: { apiVersion: 'labplane.io/v1alpha1', kind: 'Lab', metadata: { name: 'nospec' } } })),
      422,
    );
    expect(err.details?.causes?.map((x) => x.field)).toContain('spec');
  });

  test('status is written only through /status and checked against the status schema', async () => {
    const created = (await c.custom.createNamespacedCustomObject(labApi({ body: { ...lab('st'), status: { lastOperationId: 'ignored' } } }))) as Json;
    expect(created.status).toBeUndefined();
    const failure = { code: 'QUOTA_EXCEEDED', reason: 'no room', operationId: 'op-1', at: '2026-09-01T10:00:00Z' };
    const ok = (await c.custom.replaceNamespacedCustomObjectStatus(
      labApi({ name: 'st', body: { ...created, status: { observedGeneration: 1, failures: { [STUDENT]: failure } } } }),
    )) as Json;
    expect(ok.status).toEqual({ observedGeneration: 1, failures: { [STUDENT]: failure } });
    const bad = { ...ok, status: { failures: { [STUDENT]: { ...failure, at: 'yesterday' } } } };
    const err = await expectApiError(c.custom.replaceNamespacedCustomObjectStatus(labApi({ name: 'st', body: bad })), 422);
    expect(err.details?.causes?.map((x) => x.field)).toContain(`status.failures.${STUDENT}.at`);
  });

  test('metadata.generation grows on spec changes and not on status writes or metadata-only changes', async () => {
    const v1 = (await c.custom.createNamespacedCustomObject(labApi({ body: lab('gen') }))) as Json;
    const s1 = (await c.custom.replaceNamespacedCustomObjectStatus(
      labApi({ name: 'gen', body: { ...v1, status: { failures: {}, lastOperationId: 'op-1' } } }),
    )) as Json;
    expect((s1.metadata as Json).generation).toBe(1);
    expect((s1.metadata as Json).resourceVersion).not.toBe((v1.metadata as Json).resourceVersion);
    const labelled = (await c.custom.replaceNamespacedCustomObject(
      labApi({ name: 'gen', body: { ...s1, metadata: { ...(s1.metadata as Json), labels: { a: 'b' } } } }),
    )) as Json;
    expect((labelled.metadata as Json).generation).toBe(1);
    const changed = (await c.custom.replaceNamespacedCustomObject(
      labApi({ name: 'gen', body: { ...labelled, spec: { ...(labelled.spec as Json), displayName: 'OS' } } }),
    )) as Json;
    expect((changed.metadata as Json).generation).toBe(2);
    expect(changed.status).toEqual({ failures: {}, lastOperationId: 'op-1' });
  });
});

/** The checks a real API server makes of a CRD's schema that the emulator's validation does not need. */
describe('deploy/crds/labs.labplane.io.yaml is a structural schema a real API server accepts', () => {
  const crd = parse(readFileSync(join(defaultCrdsDir(), 'labs.labplane.io.yaml'), 'utf8')) as Json;
  const spec = crd.spec as Json;
  const version = (spec.versions as Json[])[0] as Json;
  const root = (version.schema as Json).openAPIV3Schema as Json;

  function nodes(node: Json, path: string, out: Array<[string, Json]> = []): Array<[string, Json]> {
    out.push([path, node]);
    for (const [k, child] of Object.entries((node.properties as Record<string, Json> | undefined) ?? {})) nodes(child, `${path}.${k}`, out);
    if (typeof node.items === 'object') nodes(node.items as Json, `${path}[]`, out);
    if (typeof node.additionalProperties === 'object') nodes(node.additionalProperties as Json, `${path}{}`, out);
    return out;
  }

  test('names, scope and the one served storage version with a status subresource', () => {
    expect(crd).toMatchObject({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'labs.labplane.io' } });
    expect(spec).toMatchObject({
      group: 'labplane.io',
      scope: 'Namespaced',
      names: { kind: 'Lab', plural: 'labs', singular: 'lab', listKind: 'LabList' },
    });
    expect(spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true, subresources: { status: {} } });
  });

  test('every node has a type, no node mixes properties with additionalProperties, and unknown fields are preserved nowhere', () => {
    for (const [path, node] of nodes(root, '')) {
      expect(typeof node.type, `${path} has a type`).toBe('string');
      expect(node.properties !== undefined && node.additionalProperties !== undefined, `${path} mixes properties and additionalProperties`).toBe(
        false,
      );
      expect(node['x-kubernetes-preserve-unknown-fields'], path).toBeUndefined();
    }
  });

  test('list-map keys are required scalars of their items, and every default is valid against its own schema', () => {
    const ajv = new Ajv({ strict: false });
    for (const [path, node] of nodes(root, '')) {
      const keys = node['x-kubernetes-list-map-keys'] as string[] | undefined;
      if (keys !== undefined) {
        const items = node.items as Json;
        for (const k of keys) {
          expect(items.required, `${path} map key ${k}`).toContain(k);
          expect(((items.properties as Record<string, Json>)[k] as Json).type, `${path} map key ${k}`).toBe('string');
        }
      }
      if (node.default !== undefined) expect(ajv.validate(node, node.default), `${path} default`).toBe(true);
    }
  });

  test('the printer columns point at fields of the schema or of metadata', () => {
    const columns = version.additionalPrinterColumns as Json[];
    expect(columns.map((col) => col.name)).toEqual(expect.arrayContaining(['Course', 'Students', 'Age']));
    const paths = new Set(nodes(root, '').map(([p]) => p));
    for (const col of columns) {
      const path = String(col.jsonPath);
      if (!path.startsWith('.metadata.')) expect(paths, path).toContain(path);
    }
  });
});
