import request from 'supertest';
import { expect } from 'vitest';
import { schemaValidatorFor } from '../../src/adapters/sim/kube-emulator/index.js';
import type { KubeEmulator, KubeObject } from '../../src/adapters/sim/kube-emulator/index.js';
import { uniqueTenantId, type TestApp } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

/** The platform image every simulated cluster starts with (10 GiB, kv-standard, Ready). */
export const SEEDED_IMAGE = { scope: 'platform', name: 'ubuntu-24-04' } as const;

export const VM = 'virtualmachines.kubevirt.io';
export const VMI = 'virtualmachineinstances.kubevirt.io';
export const DV = 'datavolumes.cdi.kubevirt.io';

/** A syntactically real OpenSSH ed25519 public key (random key material). */
export function sshKey(comment = 'student@lab'): string {
  const type = Buffer.from('ssh-ed25519');
  const key = Buffer.alloc(32, comment.length);
  const blob = Buffer.concat([Buffer.from([0, 0, 0, type.length]), type, Buffer.from([0, 0, 0, 32]), key]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

export function vmBody(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: SEEDED_IMAGE, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', sshPublicKeys: [sshKey()], ...extra };
}

/**
 * Writes (POST, PUT, PATCH) to what a VM create writes in `tenant`'s namespace: VMs, Secrets and
 * DataVolumes. Tests of "refused, writes nothing" count these rather than every emulator write,
 * because the tenant's own provisioning and leader leases go on in the background of a shared stack.
 */
export function vmCreateWrites(em: KubeEmulator, tenant: string): number {
  const prefixes = [
    `/apis/kubevirt.io/v1/namespaces/${tenant}/virtualmachines`,
    `/api/v1/namespaces/${tenant}/secrets`,
    `/apis/cdi.kubevirt.io/v1beta1/namespaces/${tenant}/datavolumes`,
  ];
  let n = 0;
  for (const pathPrefix of prefixes) for (const method of ['POST', 'PUT', 'PATCH']) n += em.requestCount({ method, pathPrefix });
  return n;
}

export function emulatorOf(t: TestApp): KubeEmulator {
  const em = t.deps.emulator;
  if (em === undefined) throw new Error('expected the simulated cluster');
  return em;
}

/** REST helpers bound to one app. */
export function restClient(t: TestApp) {
  const api = () => request(t.app.server);
  return {
    api,
    async createTenant(admin: string, extra: Record<string, unknown> = {}): Promise<string> {
      const id = uniqueTenantId('vm');
      const res = await api()
        .post('/v1/tenants')
        .set('authorization', admin)
        .send({ id, displayName: id, profile: 'faculty', owners: [{ principalId: 'olga' }], ...extra });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return id;
    },
    /** Polls an operation until it finishes; returns its final body (works in hooks too). */
    async settle(auth: string, operationId: string, timeout = 15_000): Promise<Record<string, any>> {
      return eventually(
        async () => {
          const body = (await api().get(`/v1/operations/${operationId}`).set('authorization', auth)).body as Record<string, any>;
          return ['succeeded', 'failed', 'canceled'].includes(body['status']) ? body : undefined;
        },
        timeout,
        `operation ${operationId} to finish`,
      );
    },
    async vm(auth: string, tenant: string, name: string) {
      return api().get(`/v1/tenants/${tenant}/vms/${name}`).set('authorization', auth);
    },
    /** Creates a VM and waits until its operation succeeded. */
    async createVm(auth: string, tenant: string, body: Record<string, unknown>): Promise<Record<string, any>> {
      const res = await api().post(`/v1/tenants/${tenant}/vms`).set('authorization', auth).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const op = await this.settle(auth, res.body.id as string);
      expect(op['status'], JSON.stringify(op)).toBe('succeeded');
      return op;
    },
    async act(auth: string, tenant: string, name: string, action: string) {
      return api().post(`/v1/tenants/${tenant}/vms/${name}/${action}`).set('authorization', auth);
    },
  };
}

const validator = schemaValidatorFor();

/** Strict schema validation of a stored KubeVirt or CDI object (unknown fields are errors). */
export function expectValid(
  obj: KubeObject | undefined,
  definition:
    | 'v1.VirtualMachine'
    | 'v1.VirtualMachineInstance'
    | 'v1.VirtualMachineInstanceMigration'
    | 'v1beta1.DataVolume'
    | 'v1beta1.VirtualMachineSnapshot'
    | 'v1beta1.VirtualMachineRestore'
    | 'v1beta1.VirtualMachineClone',
): void {
  expect(obj, `${definition} should exist`).toBeDefined();
  const doc = definition === 'v1beta1.DataVolume' ? 'cdi' : 'kubevirt';
  expect(validator.validate({ doc, definition }, structuredClone(obj as KubeObject)).causes).toEqual([]);
}

export function expectProblem(res: request.Response, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ status, code });
}
