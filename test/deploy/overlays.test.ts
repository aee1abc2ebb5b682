import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultCrdsDir, packagePath } from '../../src/adapters/sim/kube-emulator/package-paths.js';
import { parseManifests, validateManifests } from '../../scripts/manifest-validator.js';

/** Rendered YAML, read by path. */
type Json = Record<string, any>;

const root = packagePath([]);
const rbacStub = join(root, 'deploy', 'base', 'rbac');
let createdStub = false;
let scratch = '';

/** kubectl's output per overlay: each test reads its own parse of it, the overlay is rendered once per file. */
const rendered = new Map<string, string>();

/** Renders an overlay as `kubectl apply -k` would (kubectl is on every CI machine). */
function render(dir: string): Json[] {
  let text = rendered.get(dir);
  if (text === undefined) {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    rendered.set(dir, text);
  }
  return parseManifests(text) as Json[];
}

const find = (objects: Json[], kind: string, name: string): Json | undefined => objects.find((o) => o.kind === kind && o.metadata.name === name);

beforeAll(() => {
  // deploy/base/rbac is written separately; until it lands, an empty kustomization stands in for it.
  if (!existsSync(join(rbacStub, 'kustomization.yaml'))) {
    mkdirSync(rbacStub, { recursive: true });
    writeFileSync(join(rbacStub, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n');
    createdStub = true;
  }
  scratch = mkdtempSync(join(tmpdir(), 'labplane-overlay-'));
});

afterAll(() => {
  if (createdStub) rmSync(rbacStub, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe.each(['aks', 'dev'])('deploy/overlays/%s', (overlay) => {
  test('renders, and every object is valid for the pinned Kubernetes API and our CRDs', async () => {
    const objects = render(join(root, 'deploy', 'overlays', overlay));
    expect(await validateManifests(objects, defaultCrdsDir())).toEqual([]);
    expect(find(objects, 'CustomResourceDefinition', 'labs.labplane.io')).toBeDefined();
  });

  test('the control plane runs hardened, in-cluster, with its secrets from the Secret and no dev token key', () => {
    const objects = render(join(root, 'deploy', 'overlays', overlay));
    const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('labplane-config'));
    expect(config?.data).toMatchObject({ KUBE_MODE: 'in-cluster', DEV_MODE: 'false', HOST: '0.0.0.0' });
    expect(Object.keys(config?.data ?? {})).not.toContain('REDIS_URL');
    expect(JSON.stringify(objects)).not.toContain('DEV_TOKEN_SECRET');
    for (const name of ['labplane-api', 'labplane-worker']) {
      const pod = find(objects, 'Deployment', name)?.spec.template.spec;
      expect(pod.serviceAccountName).toBe('labplane');
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
      const [container] = pod.containers;
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // The dev overlay generates the Secret (name with a content hash); on AKS the operator creates it.
      expect(container.env.find((e: Json) => e.name === 'REDIS_URL').valueFrom.secretKeyRef).toEqual({
        name: expect.stringMatching(/^labplane-secrets/),
        key: 'redis-url',
      });
      expect(container.envFrom[0].configMapRef.name).toBe(config?.metadata.name);
    }
    const api = find(objects, 'Deployment', 'labplane-api')?.spec.template.spec.containers[0];
    expect(api.env).toContainEqual({ name: 'EMBEDDED_WORKER', value: 'false' });
    expect([api.livenessProbe.httpGet.path, api.readinessProbe.httpGet.path, api.startupProbe.httpGet.path]).toEqual([
      '/healthz',
      '/readyz',
      '/healthz',
    ]);
    expect(find(objects, 'Deployment', 'labplane-worker')?.spec.template.spec.containers[0].args).toEqual(['node', 'dist/main/worker.js']);
  });
});

test('aks: workload identity on both pods, autoscaling and disruption budgets, image from the registry', () => {
  const objects = render(join(root, 'deploy', 'overlays', 'aks'));
  for (const name of ['labplane-api', 'labplane-worker']) {
    const deployment = find(objects, 'Deployment', name);
    expect(deployment?.spec.template.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(deployment?.spec.replicas).toBeUndefined();
    expect(find(objects, 'HorizontalPodAutoscaler', name)?.spec).toMatchObject({ minReplicas: 2, scaleTargetRef: { kind: 'Deployment', name } });
    expect(find(objects, 'PodDisruptionBudget', name)).toBeDefined();
    expect(deployment?.spec.template.spec.containers[0].image).toMatch(/^REGISTRY\.azurecr\.io\/labplane:/);
  }
  expect(find(objects, 'ServiceAccount', 'labplane')?.metadata.annotations).toHaveProperty(['azure.workload.identity/client-id']);
});

test('dev: one replica each, an in-cluster Redis the control plane may reach, no HPA or PDB', () => {
  const objects = render(join(root, 'deploy', 'overlays', 'dev'));
  expect(find(objects, 'Deployment', 'labplane-api')?.spec.replicas).toBe(1);
  expect(find(objects, 'Deployment', 'labplane-worker')?.spec.replicas).toBe(1);
  expect(objects.filter((o) => ['HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(o.kind))).toEqual([]);
  expect(find(objects, 'Service', 'redis')).toBeDefined();
  const egress = find(objects, 'NetworkPolicy', 'labplane-egress')?.spec.egress as Json[];
  expect(egress).toContainEqual({
    to: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } } }],
    ports: [{ port: 6379, protocol: 'TCP' }],
  });
  expect(egress.length).toBeGreaterThan(1);
});

test('the ServiceMonitor component renders when an overlay includes it', () => {
  const overlay = join(scratch, 'with-monitor');
  mkdirSync(overlay);
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    `resources:\n  - ${relative(overlay, join(root, 'deploy', 'overlays', 'aks'))}\ncomponents:\n  - ${relative(overlay, join(root, 'deploy', 'components', 'service-monitor'))}\n`,
  );
  const monitor = find(render(overlay), 'ServiceMonitor', 'labplane-api');
  expect(monitor?.metadata.namespace).toBe('labplane-system');
  expect(monitor?.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
});

test('npm run deploy:validate fails, naming the object and field, when an overlay has an unknown field', () => {
  const overlay = join(scratch, 'broken');
  mkdirSync(overlay);
  writeFileSync(
    join(overlay, 'kustomization.yaml'),
    [
      'resources:',
      `  - ${relative(overlay, join(root, 'deploy', 'overlays', 'dev'))}`,
      'patches:',
      '  - target: { kind: Deployment, name: labplane-api }',
      '    patch: |',
      '      - op: add',
      '        path: /spec/template/spec/containers/0/livenessProbe/httpGet/pathh',
      '        value: /healthz',
      '',
    ].join('\n'),
  );
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'validate-manifests.ts'), overlay], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(
    'apps/v1/Deployment labplane-system/labplane-api: unknown field "spec.template.spec.containers[0].livenessProbe.httpGet.pathh"',
  );
});
