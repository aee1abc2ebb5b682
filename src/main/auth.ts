import type { Logger } from 'pino';
import { createAzureAdVerifier, type AzureAdVerifierOptions } from '../adapters/auth/azure-ad.js';
import { createDevTokens, type DevTokens } from '../adapters/auth/dev-tokens.js';
import { createPrincipalResolver, type PrincipalResolver } from '../domain/auth/authenticator.js';
import type { TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { AuthConfig, Config } from './config.js';

/** Azure AD verifier settings from configuration. */
export function azureAdOptions(auth: AuthConfig, logger: Logger): AzureAdVerifierOptions {
  return {
    allowedTenantIds: auth.tenantIds,
    audiences: auth.audiences,
    ...(auth.jwksUri === undefined ? {} : { jwksUri: auth.jwksUri }),
    roleMapping: { platformAdminRoles: auth.adminAppRoles, platformAdminGroups: auth.adminGroups },
    integrationRoleMapping: auth.integrationRoles,
    integrationBindings: auth.integrationBindings,
    logger: logger.child({ component: 'azure-ad' }),
  };
}

/** Who is calling: dev tokens (dev mode) and/or Azure AD tokens, with tenant memberships from the tenants. */
export function buildPrincipals(
  config: Config,
  logger: Logger,
  memberships: TenantRepository,
): { devTokens: DevTokens | undefined; principals: PrincipalResolver } {
  const devTokens = config.devMode ? createDevTokens(config.devTokenSecret) : undefined;
  const azureAd = config.auth === undefined ? undefined : createAzureAdVerifier(azureAdOptions(config.auth, logger));
  const verifiers = [...(devTokens === undefined ? [] : [devTokens]), ...(azureAd === undefined ? [] : [azureAd])];
  return { devTokens, principals: createPrincipalResolver({ verifiers, memberships }) };
}
