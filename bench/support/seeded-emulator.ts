// The Kubernetes API emulator in a process of its own, its store seeded directly with VMs (as the
// real adapter writes them) for bench/api-memory.ts; no controllers, so nothing else is added.
// Prints `{"msg":"kube emulator listening","url":...}` on stdout once it serves.
// Env: SEED_VMS (default 10000), SEED_TENANTS (default 20).
import { startKubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { benchVmObject } from './vm.js';

const vms = Number(process.env['SEED_VMS'] ?? '10000');
const tenants = Number(process.env['SEED_TENANTS'] ?? '20');
const tenantOf = (i: number) => `bench-mem-${String(i % tenants).padStart(2, '0')}`;
const em = await startKubeEmulator({ namespaces: ['labplane-system', ...Array.from({ length: tenants }, (_, i) => tenantOf(i))] });
for (let i = 0; i < vms; i++) {
  const tenant = tenantOf(i);
  const name = `vm-${String(i).padStart(5, '0')}`;
  em.store.create(
    'virtualmachines.kubevirt.io',
    benchVmObject(tenant, name, { ownerId: `student-${i % 40}`, lab: `lab-${i % 5}`, labels: { course: `c${i % 3}` } }),
  );
}
process.stdout.write(`${JSON.stringify({ msg: 'kube emulator listening', url: em.url, vms })}\n`);
const stop = () => void em.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
