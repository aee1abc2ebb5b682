import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/main/config-read.js';
import { readUsage } from '../../src/main/config-usage.js';

function settingOf(env: Record<string, string>): string {
  try {
    readUsage(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.setting;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const GUID = '22222222-2222-2222-2222-222222222222';

describe('usage settings (Prometheus)', () => {
  it('are off without PROMETHEUS_URL, and other PROMETHEUS_* settings alone are an error', () => {
    expect(readUsage({})).toEqual({ mode: 'off' });
    expect(settingOf({ PROMETHEUS_AUTH: 'azure' })).toBe('PROMETHEUS_URL');
    expect(settingOf({ PROMETHEUS_BEARER_TOKEN_FILE: '/var/run/secrets/token' })).toBe('PROMETHEUS_URL');
  });

  it('read an in-cluster Prometheus without auth, with a default timeout', () => {
    expect(readUsage({ PROMETHEUS_URL: 'http://prometheus-k8s.monitoring:9090' })).toEqual({
      mode: 'prometheus',
      url: 'http://prometheus-k8s.monitoring:9090',
      timeoutMs: 10_000,
      auth: { kind: 'none' },
    });
    expect(readUsage({ PROMETHEUS_URL: 'http://p:9090', PROMETHEUS_TIMEOUT_MS: '2500' })).toMatchObject({ timeoutMs: 2500 });
  });

  it('read a bearer token from a file (or given), one source only', () => {
    const url = 'https://prometheus.example.edu';
    expect(readUsage({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'bearer', PROMETHEUS_BEARER_TOKEN_FILE: '/t' })).toMatchObject({
      auth: { kind: 'bearer-file', path: '/t' },
    });
    expect(readUsage({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'bearer', PROMETHEUS_BEARER_TOKEN: ' tok ' })).toMatchObject({
      auth: { kind: 'bearer', token: 'tok' },
    });
    expect(settingOf({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'bearer' })).toBe('PROMETHEUS_BEARER_TOKEN_FILE');
    expect(settingOf({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'bearer', PROMETHEUS_BEARER_TOKEN_FILE: '/t', PROMETHEUS_BEARER_TOKEN: 'x' })).toBe(
      'PROMETHEUS_BEARER_TOKEN',
    );
    // A token given with auth none would silently not be sent.
    expect(settingOf({ PROMETHEUS_URL: url, PROMETHEUS_BEARER_TOKEN: 'x' })).toBe('PROMETHEUS_BEARER_TOKEN');
  });

  it('read Azure Monitor managed Prometheus: https only, the identity pinned, Azure Monitor’s scope by default', () => {
    const url = 'https://labs-abcd.westeurope.prometheus.monitor.azure.com';
    expect(readUsage({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'azure', AZURE_CLIENT_ID: GUID })).toEqual({
      mode: 'prometheus',
      url,
      timeoutMs: 10_000,
      auth: { kind: 'azure', clientId: GUID, scope: 'https://prometheus.monitor.azure.com/.default' },
    });
    expect(readUsage({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'azure', PROMETHEUS_AZURE_CLIENT_ID: GUID })).toMatchObject({
      auth: { clientId: GUID },
    });
    expect(readUsage({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'azure' })).toMatchObject({ auth: { clientId: undefined } });
    expect(settingOf({ PROMETHEUS_URL: 'http://p:9090', PROMETHEUS_AUTH: 'azure' })).toBe('PROMETHEUS_URL');
    expect(settingOf({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'azure', PROMETHEUS_AZURE_CLIENT_ID: 'me' })).toBe('PROMETHEUS_AZURE_CLIENT_ID');
    expect(settingOf({ PROMETHEUS_URL: url, PROMETHEUS_AUTH: 'azure', PROMETHEUS_AZURE_SCOPE: 'api://x' })).toBe('PROMETHEUS_AZURE_SCOPE');
  });

  it('name the setting that is wrong', () => {
    expect(settingOf({ PROMETHEUS_URL: 'prometheus:9090' })).toBe('PROMETHEUS_URL');
    expect(settingOf({ PROMETHEUS_URL: 'ftp://p' })).toBe('PROMETHEUS_URL');
    expect(settingOf({ PROMETHEUS_URL: 'http://p', PROMETHEUS_AUTH: 'basic' })).toBe('PROMETHEUS_AUTH');
    expect(settingOf({ PROMETHEUS_URL: 'http://p', PROMETHEUS_TIMEOUT_MS: '5' })).toBe('PROMETHEUS_TIMEOUT_MS');
  });

  it('never put a token in an error message', () => {
    const env = { PROMETHEUS_URL: 'https://p', PROMETHEUS_AUTH: 'bearer', PROMETHEUS_BEARER_TOKEN_FILE: '/t', PROMETHEUS_BEARER_TOKEN: 'tok-123' };
    expect(() => readUsage(env)).toThrow(ConfigError);
    expect(() => readUsage(env)).not.toThrow(/tok-123/);
  });
});
