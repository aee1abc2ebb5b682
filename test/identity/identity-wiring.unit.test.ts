import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { azureFor } from '../../src/main/simulated.js';

describe('identity wiring', () => {
  it('uses the simulated Azure by default', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const azure = await azureFor(config, pino({ level: 'silent' }));
    expect(azure.sim).toBeDefined();
    expect(azure.ports.settings).toEqual(azure.sim?.settings);
  });

  it('uses the ARM adapters with the configured settings when Azure is configured', async () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      AZURE_SUBSCRIPTION_ID: '11111111-2222-3333-4444-555555555555',
      AZURE_RESOURCE_GROUP: 'rg-labs',
      AZURE_LOCATION: 'westeurope',
      AZURE_TENANT_ID: '66666666-7777-8888-9999-000000000000',
    });
    expect(config.azure.mode).toBe('arm');
    const azure = await azureFor(config, pino({ level: 'silent' }));
    expect(azure.sim).toBeUndefined();
    expect(azure.ports.settings).toEqual({
      subscriptionId: '11111111-2222-3333-4444-555555555555',
      resourceGroup: 'rg-labs',
      location: 'westeurope',
      tenantId: '66666666-7777-8888-9999-000000000000',
    });
  });
});
