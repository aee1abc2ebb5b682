import type { Logger } from 'pino';
import type { AzureAdVerifierOptions } from '../adapters/auth/azure-ad.js';
import type { AuthConfig } from './config.js';

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
