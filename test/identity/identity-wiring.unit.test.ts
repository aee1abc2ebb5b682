import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { buildIdentity } from '../../src/main/identity.js';

const vmRepo = { get: async () => undefined };
const tenantRepo = { get: async () => undefined };

describe('identity wiring', () => {
  it('uses the simulated Azure by default', () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const identity = buildIdentity({ config, logger: pino({ level: 'silent' }), vmRepo, tenantRepo });
    expect(identity.sim).toBeDefined();
    expect(identity.settings).toEqual(identity.sim?.settings);
  });

  it('uses the ARM adapters with the configured settings when Azure is configured', () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      AZURE_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
      AZURE_RESOURCE_GROUP: 'rg-labs',
      AZURE_LOCATION: 'westeurope',
      AZURE_TENANT_ID: '66666666-7777-8888-9999-000000000000',
    });
    expect(config.azure.mode).toBe('arm');
    const identity = buildIdentity({ config, logger: pino({ level: 'silent' }), vmRepo, tenantRepo });
    expect(identity.sim).toBeUndefined();
    expect(identity.settings).toEqual({ subscriptionId: '11111111-2222-3333-4444-555555555555', resourceGroup: 'rg-labs', location: 'westeurope', tenantId: '66666666-7777-8888-9999-000000000000' });
  });
});
