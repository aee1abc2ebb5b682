import { ClientSecretCredential, DefaultAzureCredential, WorkloadIdentityCredential, type TokenCredential } from '@azure/identity';
import type { OnboardingCredentials } from '../../domain/identity/onboarding.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import { UpstreamUnavailableError, ValidationError } from '../../domain/shared/errors.js';
import { translateArmError } from './arm-errors.js';
import { silentAzureLogger, type AzureLogger } from './logger.js';
import { ARM_SCOPE } from './settings.js';

/** Where Azure AD lives, for sovereign clouds and tests. */
export interface AzureAuthorityOptions {
  /** Default `https://login.microsoftonline.com`. */
  readonly authorityHost?: string;
  /** PEM CA certificates to trust instead of the default set (tests); scoped to this credential. */
  readonly trustedCa?: string | Buffer;
}

/** How an Azure identity authenticates. Secrets here come from configuration, never from a request. */
export type AzureIdentitySettings =
  /** AKS workload identity (federated token file from the pod's service account). */
  | ({
      readonly kind: 'workload-identity';
      readonly tenantId: string;
      readonly clientId: string;
      readonly tokenFilePath?: string;
    } & AzureAuthorityOptions)
  /** A service principal with a client secret (outside AKS). */
  | ({ readonly kind: 'client-secret'; readonly tenantId: string; readonly clientId: string; readonly clientSecret: string } & AzureAuthorityOptions)
  /** The DefaultAzureCredential chain, pinned to one client id. Only for the control plane's own identity. */
  | { readonly kind: 'default'; readonly clientId?: string };

function authorityOptions(o: AzureAuthorityOptions) {
  return {
    ...(o.authorityHost === undefined ? {} : { authorityHost: o.authorityHost, disableInstanceDiscovery: true }),
    ...(o.trustedCa === undefined ? {} : { tlsOptions: { ca: o.trustedCa } }),
  };
}

/** The control plane's own ARM credential (reads machines, installs extensions, grants roles). */
export function createControlPlaneCredential(settings: AzureIdentitySettings): TokenCredential {
  switch (settings.kind) {
    case 'workload-identity':
      return new WorkloadIdentityCredential({
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        ...(settings.tokenFilePath === undefined ? {} : { tokenFilePath: settings.tokenFilePath }),
        ...authorityOptions(settings),
      });
    case 'client-secret':
      return new ClientSecretCredential(settings.tenantId, settings.clientId, settings.clientSecret, authorityOptions(settings));
    case 'default':
      return settings.clientId === undefined
        ? new DefaultAzureCredential()
        : new DefaultAzureCredential({ managedIdentityClientId: settings.clientId, workloadIdentityClientId: settings.clientId });
  }
}

/**
 * The dedicated onboarding identity's credential. Its client id must be given explicitly (no
 * DefaultAzureCredential chain, which could silently pick the control plane's own identity).
 */
export function createOnboardingTokenCredential(settings: Exclude<AzureIdentitySettings, { kind: 'default' }>): TokenCredential {
  return createControlPlaneCredential(settings);
}

export interface OnboardingCredentialsDeps {
  /** Credential of the onboarding identity (holds only "Azure Connected Machine Onboarding" on the resource group). */
  readonly credential: TokenCredential;
  /** The control plane's own credential: refused as `credential`, so the two cannot be mixed up. */
  readonly controlPlaneCredential?: TokenCredential;
  /** Token audience (default ARM's). */
  readonly scope?: string;
  /** Shortest acceptable remaining lifetime of a minted token, in ms (default 10 minutes). */
  readonly minLifetimeMs?: number;
  readonly clock?: Clock;
  readonly logger?: AzureLogger;
}

/** Mints per-VM onboarding tokens from the onboarding identity (see {@link OnboardingCredentials}). */
export function createOnboardingCredentials(deps: OnboardingCredentialsDeps): OnboardingCredentials {
  if (deps.controlPlaneCredential !== undefined && deps.controlPlaneCredential === deps.credential) {
    throw new ValidationError('The onboarding identity must not be the control plane identity.', [
      { field: 'azure.onboarding', message: 'configure a dedicated identity holding only Azure Connected Machine Onboarding' },
    ]);
  }
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentAzureLogger;
  const scope = deps.scope ?? ARM_SCOPE;
  const minLifetimeMs = deps.minLifetimeMs ?? 10 * 60_000;
  return {
    async mintAccessToken() {
      let token;
      try {
        token = await deps.credential.getToken(scope);
      } catch (err) {
        throw translateArmError(err, { what: 'mint an onboarding token' });
      }
      if (token === null || token.token === '') {
        throw new UpstreamUnavailableError('AZURE_CREDENTIAL_UNAVAILABLE', 'Azure AD issued no onboarding token; try again later.');
      }
      const remainingMs = token.expiresOnTimestamp - clock.now().getTime();
      if (remainingMs < minLifetimeMs) {
        throw new UpstreamUnavailableError('AZURE_ONBOARDING_TOKEN_TOO_SHORT', 'The onboarding token expires too soon; try again later.', {
          retryAfterSeconds: Math.max(1, Math.ceil(remainingMs / 1000)),
        });
      }
      const expiresOn = new Date(token.expiresOnTimestamp);
      logger.info({ expiresOn: expiresOn.toISOString() }, 'onboarding token minted');
      return { token: token.token, expiresOn };
    },
  };
}
