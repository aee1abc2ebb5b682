import { z } from 'zod';
import { AZURE_MONITOR_PROMETHEUS_SCOPE, type PrometheusSettings } from '../adapters/prometheus/index.js';
import { ConfigError, int, read, type Env } from './config-read.js';

/** Where VM usage (KubeVirt metrics) is read from: off unless PROMETHEUS_URL is set. */
export type UsageConfig = { readonly mode: 'off' } | ({ readonly mode: 'prometheus' } & PrometheusSettings);

const GUID = /^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const OTHER_KEYS = [
  'PROMETHEUS_AUTH',
  'PROMETHEUS_BEARER_TOKEN',
  'PROMETHEUS_BEARER_TOKEN_FILE',
  'PROMETHEUS_AZURE_CLIENT_ID',
  'PROMETHEUS_AZURE_SCOPE',
  'PROMETHEUS_TIMEOUT_MS',
] as const;

function given(env: Env, name: string): boolean {
  return (env[name] ?? '') !== '';
}

/**
 * The Prometheus settings:
 * - `PROMETHEUS_URL`: the Prometheus server (in-cluster, e.g. `http://prometheus-k8s.monitoring:9090`)
 *   or the query endpoint of an Azure Monitor workspace (`https://<workspace>.<region>.prometheus.monitor.azure.com`);
 * - `PROMETHEUS_AUTH`: `none` (default), `bearer` (with `PROMETHEUS_BEARER_TOKEN_FILE`, read again on
 *   every query so a projected service account token can rotate, or `PROMETHEUS_BEARER_TOKEN`) or
 *   `azure` (Azure AD token of the control plane's identity, `PROMETHEUS_AZURE_CLIENT_ID` or
 *   `AZURE_CLIENT_ID` pinning it; scope `PROMETHEUS_AZURE_SCOPE`, default Azure Monitor's; https only);
 * - `PROMETHEUS_TIMEOUT_MS`: budget of one query (default 10 000).
 */
export function readUsage(env: Env): UsageConfig {
  const url = read(env, 'PROMETHEUS_URL', z.url({ protocol: /^https?$/ }), 'an http(s) URL of a Prometheus server');
  if (url === undefined) {
    const stray = OTHER_KEYS.find((k) => given(env, k));
    if (stray !== undefined) throw new ConfigError('PROMETHEUS_URL', `to be set with ${stray}`);
    return { mode: 'off' };
  }
  const kind = read(env, 'PROMETHEUS_AUTH', z.enum(['none', 'bearer', 'azure']), 'none, bearer or azure') ?? 'none';
  const timeoutMs = read(env, 'PROMETHEUS_TIMEOUT_MS', int(100, 120_000), 'milliseconds between 100 and 120000') ?? 10_000;
  const needOnly = (keys: readonly string[]) => {
    const stray = OTHER_KEYS.find((k) => k !== 'PROMETHEUS_AUTH' && k !== 'PROMETHEUS_TIMEOUT_MS' && !keys.includes(k) && given(env, k));
    if (stray !== undefined) throw new ConfigError(stray, `to be unset with PROMETHEUS_AUTH=${kind}`);
  };
  const base = { mode: 'prometheus' as const, url, timeoutMs };
  switch (kind) {
    case 'none':
      needOnly([]);
      return { ...base, auth: { kind: 'none' } };
    case 'bearer': {
      needOnly(['PROMETHEUS_BEARER_TOKEN', 'PROMETHEUS_BEARER_TOKEN_FILE']);
      const file = env['PROMETHEUS_BEARER_TOKEN_FILE'];
      const token = env['PROMETHEUS_BEARER_TOKEN'];
      if (given(env, 'PROMETHEUS_BEARER_TOKEN_FILE') && given(env, 'PROMETHEUS_BEARER_TOKEN')) {
        throw new ConfigError('PROMETHEUS_BEARER_TOKEN', 'to be unset when PROMETHEUS_BEARER_TOKEN_FILE is set (one token source)');
      }
      if (file !== undefined && file !== '') return { ...base, auth: { kind: 'bearer-file', path: file } };
      if (token !== undefined && token.trim() !== '') return { ...base, auth: { kind: 'bearer', token: token.trim() } };
      throw new ConfigError('PROMETHEUS_BEARER_TOKEN_FILE', 'a token file path (or PROMETHEUS_BEARER_TOKEN) with PROMETHEUS_AUTH=bearer');
    }
    case 'azure': {
      needOnly(['PROMETHEUS_AZURE_CLIENT_ID', 'PROMETHEUS_AZURE_SCOPE']);
      if (!url.startsWith('https://')) throw new ConfigError('PROMETHEUS_URL', 'an https URL with PROMETHEUS_AUTH=azure (tokens go over TLS only)');
      const clientId =
        read(env, 'PROMETHEUS_AZURE_CLIENT_ID', z.string().regex(GUID), 'the client id GUID of the identity reading Prometheus') ??
        read(env, 'AZURE_CLIENT_ID', z.string().regex(GUID), 'the client id GUID of the control plane identity');
      const scope =
        read(
          env,
          'PROMETHEUS_AZURE_SCOPE',
          z.string().regex(/^https:\/\/\S+\/\.default$/),
          'an Azure AD scope such as https://prometheus.monitor.azure.com/.default',
        ) ?? AZURE_MONITOR_PROMETHEUS_SCOPE;
      return { ...base, auth: { kind: 'azure', clientId, scope } };
    }
  }
}
