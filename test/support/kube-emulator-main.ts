// The Kubernetes API emulator as a process of its own (the fault tests and the fault run), so that
// SIGSTOP freezes it as a real API server freezes: connections stay open, nothing answers. It runs
// the simulated virt-controller and CDI (the seeded image already imported) and holds the platform
// image `ubuntu-24-04`, written through the real image repository. Prints one JSON line
// `{"msg":"kube emulator listening","url":...}` on stdout once it serves. Env: KUBE_EMULATOR_PORT (default 0).
import { pino } from 'pino';
import { createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { createKubeImageRepository } from '../../src/adapters/kubernetes/image-repository.js';
import { createDataVolumeController } from '../../src/adapters/sim/kube-emulator/datavolume-controller.js';
import { createMigrationController, createVmLifecycleController, startKubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import { PLATFORM_IMAGE_NAMESPACE } from '../../src/domain/images/image.js';
import { SEEDED_IMAGE, SIM_VM_TIMINGS } from '../../src/main/simulated.js';

const em = await startKubeEmulator({
  port: Number(process.env['KUBE_EMULATOR_PORT'] ?? '0'),
  controllers: [
    createDataVolumeController({ importDurationMs: 1_000, preImported: [`${PLATFORM_IMAGE_NAMESPACE}/${SEEDED_IMAGE.name}`] }),
    createVmLifecycleController({ provisionMs: SIM_VM_TIMINGS.provisionMs, startMs: SIM_VM_TIMINGS.startMs, stopMs: SIM_VM_TIMINGS.stopMs }),
    createMigrationController({ phaseMs: SIM_VM_TIMINGS.migrationPhaseMs }),
  ],
  namespaces: ['labplane-system'],
});
const logger = pino({ level: 'warn' });
const images = createKubeImageRepository({ client: createKubeClient({ kubeConfig: loadKubeConfig({ server: em.url }), logger, timeoutMs: 10_000 }) });
await images.create(SEEDED_IMAGE);
await images.close();
process.stdout.write(`${JSON.stringify({ msg: 'kube emulator listening', url: em.url })}\n`);
const stop = () => void em.close().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
