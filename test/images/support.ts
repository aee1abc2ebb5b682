import request from 'supertest';
import { expect } from 'vitest';
import type { KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';

export const DV = 'datavolumes.cdi.kubevirt.io';

/** The embedded stack with quick simulated imports and a fast import follower. */
export function startImagesApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({ SIM_IMPORT_DURATION_MS: '400', IMAGE_IMPORT_POLL_MS: '40', IMAGE_HTTP_ALLOWED_HOSTS: 'mirror.example.edu', ...env });
}

export function emulatorOf(t: TestApp): KubeEmulator {
  const em = t.deps.emulator;
  if (em === undefined) throw new Error('expected the simulated cluster');
  return em;
}

/** Creates a tenant (as a platform admin) owned by `owner`; returns its id. */
export async function newTenant(t: TestApp, admin: string, owner: string, profile: 'student' | 'faculty' = 'student'): Promise<string> {
  const id = uniqueTenantId('img');
  const res = await request(t.app.server)
    .post('/v1/tenants')
    .set('authorization', admin)
    .send({ id, displayName: id, profile, owners: [{ principalId: owner }] });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return id;
}

let n = 0;
export function imageName(prefix = 'img'): string {
  n += 1;
  return `${prefix}-${process.pid.toString(36)}-${n}`;
}

export function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}

/** Every DataVolume in the emulator (namespace/name), to check that refusals write nothing. */
export function dataVolumes(em: KubeEmulator): string[] {
  return em.store.list(DV).map((d) => `${d.metadata.namespace ?? ''}/${d.metadata.name ?? ''}`);
}
