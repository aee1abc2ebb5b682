import type { TokenCredential } from '@azure/identity';
import { createArmAccess } from '../../../src/adapters/azure/access.js';
import { createArmArcMachines } from '../../../src/adapters/azure/arc-machines.js';
import { createArmBudget, type ArmBudget, type ArmBudgetOptions } from '../../../src/adapters/azure/arm-budget.js';
import type { AzureLogger } from '../../../src/adapters/azure/logger.js';
import type { AzureArmSettings } from '../../../src/adapters/azure/settings.js';
import type { AccessPort } from '../../../src/domain/identity/access.js';
import type { ArcMachinesPort } from '../../../src/domain/identity/arc-machines-port.js';
import { startArmServer, type ArmServer, type ArmServerOptions } from './arm-server.js';

export const SUBSCRIPTION = '3f2c8a71-5b9e-4d0a-9c61-0e7d4b2a9f15';
export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const RESOURCE_GROUP = 'rg-labplane-arc';
export const LOCATION = 'westeurope';

/** The control plane's bearer token in these tests: it must never show up in errors or logs. */
export const CONTROL_PLANE_TOKEN = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.control-plane-secret.c2lnbmF0dXJl';

/** A TokenCredential that hands out a fixed token and counts calls (no Azure AD involved). */
export function fakeCredential(token = CONTROL_PLANE_TOKEN, lifetimeMs = 3_600_000): TokenCredential & { calls: number } {
  const cred = {
    calls: 0,
    async getToken() {
      cred.calls += 1;
      return { token, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return cred;
}

export type RecordingLogger = AzureLogger & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> };

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

export interface WireFixture {
  readonly server: ArmServer;
  readonly settings: AzureArmSettings;
  readonly budget: ArmBudget;
  readonly logger: RecordingLogger;
  readonly credential: TokenCredential & { calls: number };
  /** A new adapter instance (as a new process would build), sharing budget and server. */
  arc(): ArcMachinesPort;
  access(): AccessPort;
  close(): Promise<void>;
}

/** Starts a local ARM server and builds the real adapters against it, trusting its certificate. */
export async function startWireFixture(
  opts: { budget?: ArmBudgetOptions; server?: Partial<ArmServerOptions>; retry?: AzureArmSettings['retry'] } = {},
): Promise<WireFixture> {
  const server = await startArmServer({ subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP, location: LOCATION, ...opts.server });
  const settings: AzureArmSettings = {
    subscriptionId: SUBSCRIPTION,
    resourceGroup: RESOURCE_GROUP,
    location: LOCATION,
    tenantId: TENANT,
    endpoint: server.url,
    trustedCa: server.ca,
    retry: opts.retry ?? { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 },
  };
  const budget = createArmBudget(opts.budget);
  const logger = recordingLogger();
  const credential = fakeCredential();
  const deps = () => ({ credential, settings, budget, logger });
  return {
    server,
    settings,
    budget,
    logger,
    credential,
    arc: () => createArmArcMachines(deps()),
    access: () => createArmAccess(deps()),
    close: () => server.close(),
  };
}
