// Renders every Kustomize overlay with `kubectl kustomize` and validates each object against the
// Kubernetes API of a pinned version (and our objects against our CRDs); exits 1 on any problem.
// Usage: npm run deploy:validate [-- kustomization-dir ...]
// (default: every folder of deploy/overlays, and deploy/cluster's cluster-wide prerequisites)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { defaultCrdsDir, packagePath } from '../src/adapters/sim/kube-emulator/package-paths.js';
import { KUBERNETES_VERSION, parseManifests, validateManifests } from './manifest-validator.js';

function kubectlVersion(): string {
  try {
    return execFileSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    console.error(
      missing
        ? 'deploy:validate needs kubectl (it renders the overlays with its built-in kustomize): install kubectl 1.27 or later and put it on PATH'
        : `deploy:validate: kubectl version failed: ${(err as Error).message}`,
    );
    process.exit(2);
  }
}

function render(dir: string): string {
  try {
    return execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    console.error(`${dir}: kubectl kustomize failed\n${stderr.trim()}`);
    process.exit(1);
  }
}

const root = packagePath([]);
const overlaysDir = join(root, 'deploy', 'overlays');
const given = process.argv.slice(2);
const overlays =
  given.length > 0
    ? given
    : [
        ...readdirSync(overlaysDir, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => join(overlaysDir, d.name)),
        join(root, 'deploy', 'cluster'),
      ];

if (!existsSync(join(root, 'deploy', 'base', 'rbac', 'kustomization.yaml'))) {
  console.error('deploy:validate: deploy/base/rbac/kustomization.yaml is missing: the base includes the RBAC kustomization from there');
  process.exit(1);
}

const client = JSON.parse(kubectlVersion()) as { clientVersion?: { gitVersion?: string }; kustomizeVersion?: string };
console.log(
  `kubectl ${client.clientVersion?.gitVersion ?? '?'} (kustomize ${client.kustomizeVersion ?? '?'}); schemas of Kubernetes ${KUBERNETES_VERSION}`,
);

let failed = 0;
for (const dir of overlays) {
  const objects = parseManifests(render(dir));
  const problems = await validateManifests(objects, defaultCrdsDir());
  const name = relative(root, dir) || dir;
  if (problems.length === 0) {
    console.log(`${name}: ${objects.length} objects valid`);
    continue;
  }
  failed += problems.length;
  console.error(`${name}: ${problems.length} problem(s) in ${objects.length} objects`);
  for (const p of problems) console.error(`  ${p.object}: ${p.message}`);
}
process.exit(failed > 0 ? 1 : 0);
