// Entry point of the API (`api`) or worker (`worker`) process in the fault tests and the fault run:
// `src/main`'s own start-up with the real adapters, pointed at local stand-ins that survive the
// process (so a killed and restarted worker sees what the previous one did):
// - FAULTS_ARM_URL, FAULTS_ARM_CA_FILE: the real ARM adapters against a local ARM server (HTTPS,
//   its self-signed CA trusted by these clients only), with a fixed bearer token (no Azure AD);
// - FAULTS_WEBHOOK_ROUTES (`host=http://127.0.0.1:port,...`): deliveries through the simulated
//   network to a local receiver (a real cluster otherwise delivers over the internet, through the
//   SSRF guard that refuses loopback; production has no setting to relax that, on purpose);
// - FAULTS_QUEUE_LOCK_MS: BullMQ's job lock and stalled check, so a killed worker's jobs come back
//   in seconds rather than BullMQ's 30 + 30 s.
import { readFileSync } from 'node:fs';
import { createSimulatedResolver } from '../../src/adapters/sim/sim-resolver.js';
import { createSimulatedWebhookNetwork, simulatedRouteRecords } from '../../src/adapters/sim/sim-webhook-network.js';
import type { DepsOverrides } from '../../src/main/deps.js';
import type { AzurePorts } from '../../src/main/azure-arm.js';
import { runServer } from '../../src/main/server-process.js';
import { runStartup } from '../../src/main/startup.js';
import { startTelemetry } from '../../src/main/telemetry.js';
import { runWorker } from '../../src/main/worker-process.js';
import { armStandInPorts } from './arm-stand-in.js';

const env = process.env;

function azurePorts(): AzurePorts | undefined {
  const url = env['FAULTS_ARM_URL'];
  if (url === undefined || url === '') return undefined;
  return armStandInPorts(url, readFileSync(env['FAULTS_ARM_CA_FILE'] ?? '', 'utf8'));
}

function overrides(): DepsOverrides {
  const routes = (env['FAULTS_WEBHOOK_ROUTES'] ?? '')
    .split(',')
    .filter((e) => e !== '')
    .map((e) => {
      const [host = '', target = ''] = e.split('=');
      return { host, target };
    });
  const lockMs = Number(env['FAULTS_QUEUE_LOCK_MS'] ?? '0');
  const ports = azurePorts();
  return {
    ...(ports === undefined ? {} : { azure: ports }),
    ...(routes.length === 0
      ? {}
      : {
          network: { webhookSender: createSimulatedWebhookNetwork(routes), webhookResolver: createSimulatedResolver(simulatedRouteRecords(routes)) },
        }),
    ...(lockMs > 0 ? { queueLocks: { lockDurationMs: lockMs, stalledIntervalMs: Math.max(500, Math.floor(lockMs / 2)) } } : {}),
  };
}

const role = process.argv[2];
// Tracing when the OTEL_* variables ask for it, as src/main/server.ts and worker.ts start it.
await startTelemetry(env, { serviceName: role === 'worker' ? 'labplane-worker' : 'labplane' });
if (role === 'api') runStartup('labplane', () => runServer(overrides()));
else if (role === 'worker') runStartup('labplane worker', () => runWorker(overrides()));
else throw new Error(`usage: service-main.ts api|worker (got ${String(role)})`);
