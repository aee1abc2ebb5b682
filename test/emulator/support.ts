import * as k8s from '@kubernetes/client-node';
import { expect } from 'vitest';
import { startKubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import type { KubeEmulator, KubeEmulatorOptions, KubeStatus } from '../../src/adapters/sim/kube-emulator/index.js';

export { minimalVm } from './fixtures.js';

/** A started emulator with client-node clients pointed at it. */
export interface Cluster {
  emu: KubeEmulator;
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  net: k8s.NetworkingV1Api;
  rbac: k8s.RbacAuthorizationV1Api;
}

export function kubeConfigFor(url: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'sim', server: url, skipTLSVerify: true }],
    users: [{ name: 'sim', token: 'sim' }],
    contexts: [{ name: 'sim', cluster: 'sim', user: 'sim' }],
    currentContext: 'sim',
  });
  return kc;
}

export async function startCluster(opts: KubeEmulatorOptions = {}): Promise<Cluster> {
  const emu = await startKubeEmulator(opts);
  const kc = kubeConfigFor(emu.url);
  return {
    emu,
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    net: kc.makeApiClient(k8s.NetworkingV1Api),
    rbac: kc.makeApiClient(k8s.RbacAuthorizationV1Api),
  };
}

/** Awaits a rejection that must be a client-node ApiException with `code`; returns the parsed Status. */
export async function expectApiError(promise: Promise<unknown>, code: number): Promise<KubeStatus> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'request should have failed').toBeInstanceOf(k8s.ApiException);
  const api = err as k8s.ApiException<unknown>;
  expect(api.code).toBe(code);
  const body = typeof api.body === 'string' ? (JSON.parse(api.body) as KubeStatus) : (api.body as KubeStatus);
  expect(body.kind).toBe('Status');
  expect(body.code).toBe(code);
  return body;
}

export const KUBEVIRT = { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines' } as const;
export const CDI = { group: 'cdi.kubevirt.io', version: 'v1beta1', plural: 'datavolumes' } as const;

export async function createNamespace(c: Cluster, name: string): Promise<void> {
  await c.core.createNamespace({ body: { metadata: { name } } });
}

export { eventually } from '../support/eventually.js';
