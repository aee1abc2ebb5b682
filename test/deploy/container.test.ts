import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { packagePath } from '../../src/adapters/sim/kube-emulator/package-paths.js';

/** Parsed YAML, read by path. */
type Json = Record<string, any>;

const root = packagePath([]);
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as Json;
const services = compose.services as Record<string, Json>;
const operatorGuide = read('deploy/README.md');
const settingsTable = read('README.md');

/** `${VAR:?message}` references: the variables compose refuses to start without. */
function requiredVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Z0-9_]+):\?[^}]*\}/g)].map((m) => m[1] ?? '');
}

describe('docker-compose.yml', () => {
  test('every service has a profile: the demo and the real-cluster services never start together', () => {
    expect(services.demo?.profiles).toEqual(['demo']);
    for (const name of ['redis', 'api', 'worker']) expect(services[name]?.profiles, name).toEqual(['cluster']);
  });

  test('the demo needs no setting at all and listens on every interface', () => {
    const demo = services.demo as Json;
    expect(JSON.stringify(demo)).not.toMatch(/\$\{/);
    expect(demo.depends_on).toBeUndefined();
    expect(demo.environment).toEqual({ HOST: '0.0.0.0', PORT: '8080' });
  });

  test('the real-cluster services require sign-in settings, and every required variable is documented', () => {
    const required = requiredVariables(composeText);
    expect(required).toEqual(expect.arrayContaining(['AUTH_TENANT_IDS', 'AUTH_AUDIENCES']));
    for (const name of required) expect(operatorGuide, `${name} in deploy/README.md`).toContain(name);
  });

  test('API and worker pass only settings the README knows, with Redis, a kubeconfig and a separate worker', () => {
    const api = services.api as Json;
    const worker = services.worker as Json;
    for (const env of [api.environment, worker.environment] as Array<Record<string, unknown>>) {
      for (const name of Object.keys(env)) expect(settingsTable, `${name} in README.md`).toContain(`\`${name}\``);
      expect(env).toMatchObject({ REDIS_URL: 'redis://redis:6379', KUBE_MODE: 'kubeconfig', KUBECONFIG: '/kube/config' });
      expect(Object.keys(env)).not.toContain('DEV_TOKEN_SECRET');
    }
    expect(api.environment.EMBEDDED_WORKER).toBe('false');
    expect(worker.command).toEqual(['node', 'dist/main/worker.js']);
    expect(api.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const ignored = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  test('everything it copies from the context exists and is not excluded by .dockerignore', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(?:--\S+ )*(.+) \S+$/gm)].flatMap((m) => (m[1] ?? '').split(/\s+/));
    expect(sources).toEqual(expect.arrayContaining(['schemas', 'deploy/crds', 'openapi', 'src']));
    for (const source of sources) {
      expect(existsSync(join(root, source)), source).toBe(true);
      for (const pattern of ignored) expect(source === pattern || source.startsWith(`${pattern}/`), `${source} excluded by ${pattern}`).toBe(false);
    }
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git']));
  });

  test('installs as the README says, runs compiled output as a numeric non-root user, with a health check', () => {
    expect(dockerfile).toContain('RUN npm install --no-audit --no-fund');
    expect(dockerfile).not.toMatch(/^RUN .*npm ci/m);
    expect(dockerfile).toMatch(/^FROM \$\{NODE_IMAGE\} AS runtime$/m);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-/m);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK /m);
    expect(dockerfile).toMatch(/^CMD \["node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "dist\/main\/server.js"\]$/m);
    expect(existsSync(join(root, 'src/main/server.ts')) && existsSync(join(root, 'src/main/worker.ts'))).toBe(true);
  });
});
