import { expect } from 'vitest';
import type { TestApp } from '../support/test-app.js';
import { restClient, SEEDED_IMAGE, sshKey } from '../vms/support.js';

/** The instructors' key (a lab without Arc needs one: students have no other way in). */
export const INSTRUCTOR_KEY = sshKey('instructor@uni');

/** A template every tenant profile may use: 1 vCPU, 2 GiB, a 10 GiB disk from the seeded image. */
export const LAB_TEMPLATE = { image: SEEDED_IMAGE, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', sshPublicKeys: [INSTRUCTOR_KEY] };

/** A deterministic Azure AD object id (lower-case GUID) per number. */
export function personId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

export function person(n: number, extra: Record<string, unknown> = {}): { id: string; email: string; displayName: string } {
  return { id: personId(n), email: `student${n}@uni.example`, displayName: `Student ${n}`, ...extra };
}

export function labBody(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, template: LAB_TEMPLATE, ...extra };
}

/** REST helpers for labs, on top of the VM ones. */
export function labClient(t: TestApp) {
  const rest = restClient(t);
  return {
    ...rest,
    async lab(auth: string, tenant: string, name: string) {
      return rest.api().get(`/v1/tenants/${tenant}/labs/${name}`).set('authorization', auth);
    },
    /** Creates a lab, waits for its operation and for every student to be ready. */
    async createLab(auth: string, tenant: string, body: Record<string, unknown>): Promise<void> {
      const res = await rest.api().post(`/v1/tenants/${tenant}/labs`).set('authorization', auth).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const op = await rest.settle(auth, res.body.id as string, 30_000);
      expect(op['status'], JSON.stringify(op)).toBe('succeeded');
      await this.untilPhase(auth, tenant, String(body['name']), Array.isArray(body['students']) && body['students'].length > 0 ? 'Ready' : 'Empty');
    },
    async untilPhase(auth: string, tenant: string, name: string, phase: string): Promise<void> {
      await expect.poll(async () => (await this.lab(auth, tenant, name)).body.phase, { timeout: 20_000, interval: 100 }).toBe(phase);
    },
    async students(auth: string, tenant: string, name: string, query = '') {
      return rest.api().get(`/v1/tenants/${tenant}/labs/${name}/students${query}`).set('authorization', auth);
    },
  };
}
