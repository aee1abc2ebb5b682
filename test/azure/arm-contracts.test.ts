import { createOnboardingCredentials, createOnboardingTokenCredential } from '../../src/adapters/azure/credentials.js';
import { roleDefinitionId } from '../../src/domain/identity/access.js';
import { arcResourceId } from '../../src/domain/identity/arc-machine.js';
import { accessContract } from '../contracts/access.contract.js';
import { arcMachinesContract } from '../contracts/arc-machines.contract.js';
import { onboardingCredentialsContract } from '../contracts/onboarding-credentials.contract.js';
import { RESOURCE_GROUP, SUBSCRIPTION, TENANT, startWireFixture } from './support/azure-fixture.js';

arcMachinesContract('real ARM adapter over the wire', async () => {
  const fx = await startWireFixture();
  const { state } = fx.server;
  return {
    port: fx.arc(),
    freshPort: () => fx.arc(),
    seedMachine: (name, status, tags = {}) =>
      void state.machines.set(name.toLowerCase(), {
        name,
        status,
        tags,
        lastStatusChange: '2025-03-01T07:58:12.3456789Z',
        agentVersion: '1.48.02881.1941',
      }),
    failNextExtension: (machine, code, message) => void state.extensionFailures.set(machine.toLowerCase(), { code, message }),
    tick: () => undefined,
    extensionPuts: () => fx.server.requests.filter((r) => r.method === 'PUT' && r.path.includes('/extensions/') && r.status < 300).length,
    reads: () => fx.server.requests.filter((r) => r.method === 'GET').length,
    resourceIdOf: (name) => arcResourceId(SUBSCRIPTION, RESOURCE_GROUP, name),
    cleanup: () => fx.close(),
  };
});

accessContract('real ARM adapter over the wire', async () => {
  const fx = await startWireFixture();
  const { state } = fx.server;
  return {
    port: fx.access(),
    subscriptionId: SUBSCRIPTION,
    machineScope: (name) => arcResourceId(SUBSCRIPTION, RESOURCE_GROUP, name),
    seedAssignment: (a) =>
      void state.assignments.set(`${a.scope}|${a.name}`.toLowerCase(), {
        scope: a.scope,
        name: a.name,
        roleDefinitionId: roleDefinitionId(SUBSCRIPTION, a.role),
        principalId: a.principalId,
        principalType: 'User',
      }),
    setAssignmentLimit: (n) => void (state.roleAssignmentLimit = n),
    cleanup: () => fx.close(),
  };
});

onboardingCredentialsContract('ClientSecretCredential against a local Azure AD token endpoint', async () => {
  const fx = await startWireFixture();
  const credential = createOnboardingTokenCredential({
    kind: 'client-secret',
    tenantId: TENANT,
    clientId: 'b1e2d3c4-a5f6-4789-8abc-def012345678',
    clientSecret: 'onboarding~secret',
    authorityHost: fx.server.url,
    trustedCa: fx.server.ca,
  });
  return { credentials: createOnboardingCredentials({ credential }), now: () => Date.now(), cleanup: () => fx.close() };
});
