import type { HybridComputeManagementClientOptionalParams } from '@azure/arm-hybridcompute';
import { ValidationError, type FieldIssue } from '../../domain/shared/errors.js';
import { armBudgetPolicy, type ArmBudget } from './arm-budget.js';
import type { AzureLogger } from './logger.js';

/** Where and how the control plane talks to Azure Resource Manager. */
export interface AzureArmSettings {
  /** GUID of the subscription holding the Arc machines. */
  readonly subscriptionId: string;
  /** Resource group of the Arc machines (the onboarding identity's only scope). */
  readonly resourceGroup: string;
  /** Azure region of the Arc machines, e.g. `westeurope`. */
  readonly location: string;
  /** Azure AD tenant GUID. */
  readonly tenantId: string;
  /** ARM base URL (default `https://management.azure.com`); tests point it at a local server. */
  readonly endpoint?: string;
  /** Token audience (default `https://management.azure.com/.default`, whatever the endpoint). */
  readonly credentialScope?: string;
  /**
   * PEM CA certificates to trust INSTEAD of the default set (tests, private endpoints). Passed to the
   * SDK's `tlsOptions.ca`, so it affects these clients only, never the process.
   */
  readonly trustedCa?: string | Buffer;
  /** The SDK retry policy's knobs (defaults: 3 retries, 1 s base, 64 s max backoff). */
  readonly retry?: { readonly maxRetries?: number; readonly retryDelayInMs?: number; readonly maxRetryDelayInMs?: number };
}

export const ARM_ENDPOINT = 'https://management.azure.com';
export const ARM_SCOPE = 'https://management.azure.com/.default';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RESOURCE_GROUP = /^[-\w.()]{1,90}$/u;
const LOCATION = /^[a-z0-9]{2,40}$/;

/** Throws ValidationError listing every malformed setting. */
export function assertAzureArmSettings(s: AzureArmSettings): void {
  const issues: FieldIssue[] = [];
  if (!GUID.test(s.subscriptionId)) issues.push({ field: 'azure.subscriptionId', message: 'must be a GUID' });
  if (!GUID.test(s.tenantId)) issues.push({ field: 'azure.tenantId', message: 'must be a GUID' });
  if (!RESOURCE_GROUP.test(s.resourceGroup) || s.resourceGroup.endsWith('.')) {
    issues.push({ field: 'azure.resourceGroup', message: 'must be 1-90 letters, digits, "-", "_", ".", "(" or ")", not ending in "."' });
  }
  if (!LOCATION.test(s.location)) issues.push({ field: 'azure.location', message: 'must be an Azure region name such as westeurope' });
  if (s.endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(s.endpoint);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'https:') issues.push({ field: 'azure.endpoint', message: 'must be an https URL' });
  }
  if (issues.length > 0) throw new ValidationError('The Azure settings are not valid.', issues);
}

/** The endpoint without a trailing slash. */
export function armEndpoint(s: AzureArmSettings): string {
  return (s.endpoint ?? ARM_ENDPOINT).replace(/\/+$/, '');
}

/**
 * Options for an ARM SDK client: endpoint (both `endpoint` and `$host`, which the generated clients
 * read separately), token audience, optional CA, retry knobs, and the budget as a per-retry policy.
 */
export function armClientOptions(s: AzureArmSettings, budget: ArmBudget, logger: AzureLogger): HybridComputeManagementClientOptionalParams {
  const endpoint = armEndpoint(s);
  return {
    endpoint,
    $host: endpoint,
    credentialScopes: [s.credentialScope ?? ARM_SCOPE],
    userAgentOptions: { userAgentPrefix: 'labplane' },
    ...(s.trustedCa === undefined ? {} : { tlsOptions: { ca: s.trustedCa } }),
    ...(s.retry === undefined ? {} : { retryOptions: { ...s.retry } }),
    additionalPolicies: [{ policy: armBudgetPolicy(budget, logger), position: 'perRetry' }],
  };
}
