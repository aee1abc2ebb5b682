import { describe, expect, test } from 'vitest';
import { defaultCrdsDir } from '../../src/adapters/sim/kube-emulator/package-paths.js';
import { validateManifests } from '../../scripts/manifest-validator.js';

type Json = Record<string, unknown>;

function deployment(container: Json = {}, spec: Json = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'labplane-system', labels: { app: 'api' } },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: { containers: [{ name: 'api', image: 'labplane:1', ports: [{ name: 'http', containerPort: 8080 }], ...container }] },
      },
      ...spec,
    },
  };
}

const TEMPLATE = { image: { scope: 'platform', name: 'ubuntu-24-04' }, cpu: 2, memoryGi: 4, diskGi: 20, storageClass: 'kv-standard' };
const lab = (spec: Json): Json => ({
  apiVersion: 'labplane.io/v1alpha1',
  kind: 'Lab',
  metadata: { name: 'os-101', namespace: 'cs101' },
  spec: { template: TEMPLATE, ...spec },
});

async function problems(...objects: Json[]): Promise<string[]> {
  return (await validateManifests(objects, defaultCrdsDir())).map((p) => `${p.object}: ${p.message}`);
}

describe('manifest validation against the pinned Kubernetes API and our CRDs', () => {
  test('a well-formed Deployment and Lab pass', async () => {
    expect(await problems(deployment(), lab({}))).toEqual([]);
  });

  test('an unknown field anywhere in a built-in object is an error naming its path', async () => {
    const out = await problems(deployment({ bogus: true, ports: [{ containerPort: 8080, hostname: 'x' }] }), {
      ...deployment(),
      metadata: { name: 'b', labelz: {} },
    });
    expect(out).toEqual([
      'apps/v1/Deployment labplane-system/api: unknown field "spec.template.spec.containers[0].ports[0].hostname"',
      'apps/v1/Deployment labplane-system/api: unknown field "spec.template.spec.containers[0].bogus"',
      'apps/v1/Deployment b: unknown field "metadata.labelz"',
    ]);
  });

  test('a wrong type, a missing required field and a value outside an enum are errors', async () => {
    const out = await problems(deployment({}, { replicas: 'two' }), deployment({ imagePullPolicy: 'Sometimes' }), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ name: 'http' }] },
    });
    expect(out).toEqual([
      expect.stringMatching(/Deployment labplane-system\/api: spec\.replicas: must be integer/),
      expect.stringMatching(
        /Deployment labplane-system\/api: spec\.template\.spec\.containers\.0\.imagePullPolicy: must be equal to one of the allowed values/,
      ),
      expect.stringMatching(/v1\/Service s: spec\.ports\.0: must have required property \W?port\W?$/),
    ]);
  });

  test('beta and removed API versions, unknown kinds and nameless objects are refused', async () => {
    const out = await problems(
      { apiVersion: 'policy/v1beta1', kind: 'PodDisruptionBudget', metadata: { name: 'p' }, spec: {} },
      { apiVersion: 'apps/v1', kind: 'Deploymnt', metadata: { name: 'd' } },
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm' }, spec: {} },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
    );
    expect(out).toEqual([
      'policy/v1beta1/PodDisruptionBudget p: policy/v1beta1 is not a GA API version of Kubernetes 1.36.0: use the GA version of PodDisruptionBudget',
      'apps/v1/Deploymnt d: no apps/v1 Deploymnt in Kubernetes 1.36.0 and no CRD of ours defines it',
      'monitoring.coreos.com/v1/ServiceMonitor m: no monitoring.coreos.com/v1 ServiceMonitor in Kubernetes 1.36.0 and no CRD of ours defines it',
      'v1/ConfigMap ?: metadata.name is required',
    ]);
  });

  test('objects of our CRDs are checked against the CRD schema, strictly, and only in served versions', async () => {
    const out = await problems(lab({ seats: 40 }), lab({ template: { ...TEMPLATE, cpu: 'two' } }), { ...lab({}), apiVersion: 'labplane.io/v9' });
    expect(out).toEqual([
      'labplane.io/v1alpha1/Lab cs101/os-101: unknown field "spec.seats"',
      expect.stringMatching(/Lab cs101\/os-101: spec\.template\.cpu: must be integer/),
      'labplane.io/v9/Lab cs101/os-101: version v9 is not served by CRD labs.labplane.io',
    ]);
  });
});
