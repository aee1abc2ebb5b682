import { z } from 'zod';
import { ARC_CLUSTER_NAME } from '../domain/identity/arc-machine.js';
import { ConfigError, list, read, type Env } from './config-read.js';

/** Azure for VM identities: simulated unless AZURE_* is set (see `readAzure`). */
export type AzureConfig =
  | { readonly mode: 'simulated' }
  | {
      readonly mode: 'arm';
      readonly subscriptionId: string;
      readonly resourceGroup: string;
      readonly location: string;
      readonly tenantId: string;
      /** Pins the control plane's own identity (workload or managed identity client id). */
      readonly clientId: string | undefined;
      /**
       * The dedicated onboarding identity (only "Azure Connected Machine Onboarding" on the
       * resource group). Workload identity by default; a client secret only when given explicitly.
       * Absent: VMs with Arc on are refused (409), since no token could be minted for them.
       */
      readonly onboarding: { readonly clientId: string; readonly clientSecret: string | undefined } | undefined;
      /** This installation's name on the Arc machines it onboards (AZURE_ARC_CLUSTER); see `ArcTarget.cluster`. */
      readonly cluster: string | undefined;
    };

export interface AuthConfig {
  readonly tenantIds: readonly string[];
  readonly audiences: readonly string[];
  readonly jwksUri: string | undefined;
  readonly adminAppRoles: readonly string[];
  readonly adminGroups: readonly string[];
  readonly integrationRoles: Readonly<Record<string, 'labs.manage' | 'vms.manage' | 'read'>>;
  readonly integrationBindings: Readonly<Record<string, readonly string[]>>;
}

const AZURE_KEYS = ['AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_GROUP', 'AZURE_LOCATION', 'AZURE_TENANT_ID'] as const;
const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;

export function readAzure(env: Env): AzureConfig {
  const given = AZURE_KEYS.filter((k) => (env[k] ?? '') !== '');
  if (given.length === 0) return { mode: 'simulated' };
  const missing = AZURE_KEYS.filter((k) => (env[k] ?? '') === '');
  if (missing[0] !== undefined) {
    const others = missing.length > 1 ? ` (missing too: ${missing.slice(1).join(', ')})` : '';
    throw new ConfigError(
      missing[0],
      `to be set as well${others}: Azure settings go together (${AZURE_KEYS.join(', ')}); ${given.join(', ')} ${given.length > 1 ? 'are' : 'is'} set`,
    );
  }
  const subscriptionId = read(env, 'AZURE_SUBSCRIPTION_ID', z.string().regex(GUID), 'a subscription GUID') as string;
  const tenantId = read(env, 'AZURE_TENANT_ID', z.string().regex(GUID), 'a directory (tenant) GUID') as string;
  const resourceGroup = read(env, 'AZURE_RESOURCE_GROUP', z.string().regex(/^[-\w._()]{1,90}$/), 'a resource group name') as string;
  const location = read(env, 'AZURE_LOCATION', z.string().regex(/^[a-z0-9]+$/), 'an Azure region such as westeurope') as string;
  const clientId = read(env, 'AZURE_CLIENT_ID', z.string().regex(GUID), 'the client id GUID of the control plane identity');
  const onboardingClientId = read(
    env,
    'AZURE_ONBOARDING_CLIENT_ID',
    z.string().regex(GUID),
    'the client id GUID of the dedicated onboarding identity',
  );
  const onboardingSecret = env['AZURE_ONBOARDING_CLIENT_SECRET'];
  const cluster = read(
    env,
    'AZURE_ARC_CLUSTER',
    z.string().regex(ARC_CLUSTER_NAME),
    'a DNS label (lower-case letters, digits and "-", at most 63) naming this installation',
  );
  if (onboardingSecret !== undefined && onboardingSecret !== '' && onboardingClientId === undefined) {
    throw new ConfigError('AZURE_ONBOARDING_CLIENT_ID', 'to be set with AZURE_ONBOARDING_CLIENT_SECRET');
  }
  if (onboardingClientId !== undefined && onboardingClientId === clientId) {
    throw new ConfigError('AZURE_ONBOARDING_CLIENT_ID', 'a dedicated identity, not the control plane identity (AZURE_CLIENT_ID)');
  }
  return {
    mode: 'arm',
    subscriptionId,
    resourceGroup,
    location,
    tenantId,
    clientId,
    onboarding:
      onboardingClientId === undefined
        ? undefined
        : { clientId: onboardingClientId, clientSecret: onboardingSecret === '' ? undefined : onboardingSecret },
    cluster,
  };
}

const DEFAULT_INTEGRATION_ROLES = { 'LabPlane.Labs.Manage': 'labs.manage', 'LabPlane.Vms.Manage': 'vms.manage', 'LabPlane.Read': 'read' } as const;

function json<T>(env: Env, name: string, schema: z.ZodType<T>, expected: string): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(name, `${expected} as JSON`);
  }
  const r = schema.safeParse(parsed);
  if (!r.success) throw new ConfigError(name, expected);
  return r.data;
}

export function readAuth(env: Env, devMode: boolean): AuthConfig | undefined {
  const tenantIds = list(env, 'AUTH_TENANT_IDS');
  if (tenantIds.length === 0) {
    if (!devMode)
      throw new ConfigError(
        'AUTH_TENANT_IDS',
        'the Azure AD directory (tenant) ids whose users may sign in: outside dev mode there is no other way in',
      );
    return undefined;
  }
  const badTenant = tenantIds.find((t) => !GUID.test(t));
  if (badTenant !== undefined) throw new ConfigError('AUTH_TENANT_IDS', `comma-separated directory GUIDs, got '${badTenant}'`);
  const audiences = list(env, 'AUTH_AUDIENCES');
  if (audiences.length === 0) throw new ConfigError('AUTH_AUDIENCES', "the API's client id and/or application id URI (api://...)");
  const jwksUri = read(env, 'AUTH_JWKS_URI', z.string().regex(/^https?:\/\/\S+$/), 'an http(s) URL');
  const role = z.enum(['labs.manage', 'vms.manage', 'read']);
  return {
    tenantIds: tenantIds.map((t) => t.toLowerCase()),
    audiences,
    jwksUri,
    adminAppRoles: env['AUTH_ADMIN_APP_ROLES'] === undefined ? ['LabPlane.Admin'] : list(env, 'AUTH_ADMIN_APP_ROLES'),
    adminGroups: list(env, 'AUTH_ADMIN_GROUPS'),
    integrationRoles:
      json(env, 'AUTH_INTEGRATION_ROLES', z.record(z.string().min(1), role), 'an object of app role value to labs.manage, vms.manage or read') ??
      DEFAULT_INTEGRATION_ROLES,
    integrationBindings:
      json(
        env,
        'AUTH_INTEGRATION_BINDINGS',
        z.record(z.string().min(1), z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/))),
        'an object of application (client) id to a list of tenant ids',
      ) ?? {},
  };
}
