import { inspect } from 'node:util';
import {
  AuthenticationError,
  ClientSecretCredential,
  CredentialUnavailableError,
  WorkloadIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import { describe, expect, it } from 'vitest';
import { createControlPlaneCredential, createOnboardingCredentials, createOnboardingTokenCredential } from '../../src/adapters/azure/credentials.js';
import { createSimAzure } from '../../src/adapters/sim/azure/index.js';
import { UpstreamRejectedError, UpstreamUnavailableError, ValidationError } from '../../src/domain/shared/errors.js';
import { TENANT, fakeCredential, recordingLogger, startWireFixture } from './support/azure-fixture.js';
import { manualClock } from './support/manual-clock.js';

const ONBOARDING_TOKEN = 'eyJ0eXAiOiJKV1QifQ.onboarding-only.c2ln';

describe('onboarding credentials', () => {
  it('mints an ARM token of the onboarding identity; the log line names the expiry, never the token', async () => {
    const logger = recordingLogger();
    const scopes: unknown[] = [];
    const credential: TokenCredential = {
      async getToken(scope) {
        scopes.push(scope);
        return { token: ONBOARDING_TOKEN, expiresOnTimestamp: Date.parse('2025-03-01T09:00:00Z') };
      },
    };
    const minted = await createOnboardingCredentials({
      credential,
      logger,
      clock: manualClock(Date.parse('2025-03-01T08:00:00Z')),
    }).mintAccessToken();
    expect(minted).toEqual({ token: ONBOARDING_TOKEN, expiresOn: new Date('2025-03-01T09:00:00Z') });
    expect(scopes).toEqual(['https://management.azure.com/.default']);
    expect(logger.lines).toHaveLength(1);
    expect(JSON.stringify(logger.lines)).not.toContain(ONBOARDING_TOKEN);
  });

  it("refuses to use the control plane's own credential as the onboarding identity", () => {
    const own = fakeCredential();
    expect(() => createOnboardingCredentials({ credential: own, controlPlaneCredential: own })).toThrow(ValidationError);
  });

  it('a token about to expire is refused as retryable, without leaking it', async () => {
    const now = Date.parse('2025-03-01T08:00:00Z');
    const credential: TokenCredential = { getToken: async () => ({ token: ONBOARDING_TOKEN, expiresOnTimestamp: now + 120_000 }) };
    const err = await createOnboardingCredentials({ credential, clock: manualClock(now) })
      .mintAccessToken()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_ONBOARDING_TOKEN_TOO_SHORT', retryAfterSeconds: 120 });
    expect(inspect(err, { depth: 10 })).not.toContain(ONBOARDING_TOKEN);
  });

  it('identity failures are translated: a refused client is permanent, an outage is retryable', async () => {
    const failing = (err: unknown): TokenCredential => ({
      getToken: async () => {
        throw err;
      },
    });
    const mint = (err: unknown) =>
      createOnboardingCredentials({ credential: failing(err) })
        .mintAccessToken()
        .catch((e: unknown) => e);
    expect(
      await mint(new AuthenticationError(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret.' })),
    ).toBeInstanceOf(UpstreamRejectedError);
    expect(await mint(new CredentialUnavailableError('WorkloadIdentityCredential: no token file'))).toMatchObject({
      code: 'AZURE_CREDENTIAL_REJECTED',
    });
    expect(await mint(new AuthenticationError(503, { error: 'temporarily_unavailable', error_description: 'try later' }))).toMatchObject({
      code: 'AZURE_CREDENTIAL_UNAVAILABLE',
    });
    const none: TokenCredential = { getToken: async () => null };
    await expect(createOnboardingCredentials({ credential: none }).mintAccessToken()).rejects.toBeInstanceOf(UpstreamUnavailableError);
  });

  it('the simulated subscription mints distinct hour-long tokens and counts them', async () => {
    const clock = manualClock();
    const sim = createSimAzure({ clock });
    const a = await sim.onboardingCredentials().mintAccessToken();
    const b = await sim.onboardingCredentials().mintAccessToken();
    expect(a.token).not.toBe(b.token);
    expect(a.expiresOn.getTime() - clock.ms).toBe(3_600_000);
    expect(sim.stats().tokensMinted).toBe(2);
  });
});

describe('onboarding credentials against a local Azure AD token endpoint', () => {
  it('the token comes from the onboarding identity; a refused client secret is AZURE_CREDENTIAL_REJECTED and leaks neither secret nor token', async () => {
    const fx = await startWireFixture();
    try {
      const logger = recordingLogger();
      const credential = createOnboardingTokenCredential({
        kind: 'client-secret',
        tenantId: TENANT,
        clientId: 'b1e2d3c4-a5f6-4789-8abc-def012345678',
        clientSecret: 'onboarding~secret~42',
        authorityHost: fx.server.url,
        trustedCa: fx.server.ca,
      });
      const minted = await createOnboardingCredentials({ credential, logger }).mintAccessToken();
      expect(fx.server.aad.issued).toEqual([minted.token]);
      expect(fx.server.aad.secrets).toEqual(['onboarding~secret~42']);

      const other = createOnboardingTokenCredential({
        kind: 'client-secret',
        tenantId: TENANT,
        clientId: 'c2e2d3c4-a5f6-4789-8abc-def012345678',
        clientSecret: 'wrong~secret~43',
        authorityHost: fx.server.url,
        trustedCa: fx.server.ca,
      });
      fx.server.aad.failNext = { status: 401, error: 'invalid_client', description: 'AADSTS7000215: Invalid client secret provided.' };
      const err = await createOnboardingCredentials({ credential: other, logger })
        .mintAccessToken()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).toMatchObject({ code: 'AZURE_CREDENTIAL_REJECTED' });
      const shown = `${inspect(err, { depth: 20, showHidden: true })}${JSON.stringify(logger.lines)}`;
      for (const secret of [minted.token, 'onboarding~secret~42', 'wrong~secret~43']) expect(shown).not.toContain(secret);
    } finally {
      await fx.close();
    }
  });
});

describe('credential factories', () => {
  const ids = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: 'b1e2d3c4-a5f6-4789-8abc-def012345678' };

  it('build workload identity in AKS and a client secret credential elsewhere, without any I/O', () => {
    expect(createControlPlaneCredential({ kind: 'client-secret', ...ids, clientSecret: 's' })).toBeInstanceOf(ClientSecretCredential);
    expect(
      createOnboardingTokenCredential({ kind: 'workload-identity', ...ids, tokenFilePath: '/var/run/secrets/azure/tokens/azure-identity-token' }),
    ).toBeInstanceOf(WorkloadIdentityCredential);
  });
});
