import type { UsageMetrics } from '../../domain/usage/ports.js';
import { createPrometheusUsage, type PrometheusUsageOptions } from './prometheus-usage.js';

export { AZURE_MONITOR_PROMETHEUS_SCOPE, createPrometheusUsage, type PrometheusAuth, type PrometheusUsageOptions } from './prometheus-usage.js';
export { alternation, METRICS, promString, quoteRegex, usageQueries } from './promql.js';

/** How the platform authenticates to Prometheus, as configured (see `readUsage` in main). */
export type PrometheusAuthSettings =
  | { readonly kind: 'none' }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'bearer-file'; readonly path: string }
  /** Azure AD through the control plane's identity (workload or managed identity, pinned to `clientId`). */
  | { readonly kind: 'azure'; readonly clientId: string | undefined; readonly scope: string };

export interface PrometheusSettings {
  readonly url: string;
  readonly auth: PrometheusAuthSettings;
  readonly timeoutMs: number;
}

/**
 * The Prometheus usage adapter from settings. The Azure SDK (@azure/identity) is loaded only when
 * the settings ask for Azure AD, so an in-cluster Prometheus never loads it.
 */
export async function loadPrometheusUsage(
  settings: PrometheusSettings,
  options: Omit<PrometheusUsageOptions, 'baseUrl' | 'auth' | 'timeoutMs'> = {},
): Promise<UsageMetrics> {
  const common = { ...options, baseUrl: settings.url, timeoutMs: settings.timeoutMs };
  const auth = settings.auth;
  if (auth.kind !== 'azure') return createPrometheusUsage({ ...common, auth });
  const { createControlPlaneCredential } = await import('../azure/credentials.js');
  const credential = createControlPlaneCredential(auth.clientId === undefined ? { kind: 'default' } : { kind: 'default', clientId: auth.clientId });
  return createPrometheusUsage({ ...common, auth: { kind: 'credential', credential, scope: auth.scope } });
}
