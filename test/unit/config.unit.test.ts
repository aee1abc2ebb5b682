import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { configError } from '../support/config-error.js';

describe('configuration', () => {
  it('defaults to the embedded mode: simulated cluster and Azure, dev mode, in-process worker', () => {
    const c = loadConfig({});
    expect(c.kube.mode).toBe('simulated');
    expect(c.azure.mode).toBe('simulated');
    expect(c.devMode).toBe(true);
    expect(c.embeddedWorker).toBe(true);
    expect(c.port).toBe(8080);
    expect(c.redisUrl).toBeUndefined();
  });

  it('names the setting and what was expected when a value is wrong', () => {
    expect(configError({ PORT: 'eighty' }).message).toMatch(/^PORT: expected a port number/);
    expect(configError({ LOG_LEVEL: 'loud' }).setting).toBe('LOG_LEVEL');
    expect(configError({ REDIS_URL: 'localhost:6379' }).setting).toBe('REDIS_URL');
    expect(configError({ CORS_ORIGINS: 'portal.example.edu' }).setting).toBe('CORS_ORIGINS');
  });

  it('selects the Kubernetes adapter from a kubeconfig and then requires Redis', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-cfg-'));
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, 'apiVersion: v1\nkind: Config\n');
    expect(configError({ KUBECONFIG: path }).setting).toBe('REDIS_URL');
    expect(configError({ KUBECONFIG: path, REDIS_URL: 'redis://127.0.0.1:6379' }).setting).toBe('AUTH_TENANT_IDS');
    const auth = { AUTH_TENANT_IDS: '11111111-1111-1111-1111-111111111111', AUTH_AUDIENCES: 'api://labplane' };
    expect(configError({ KUBECONFIG: path, REDIS_URL: 'redis://127.0.0.1:6379', AUTH_TENANT_IDS: 'common' }).setting).toBe('AUTH_TENANT_IDS');
    expect(configError({ KUBECONFIG: path, REDIS_URL: 'redis://127.0.0.1:6379', AUTH_TENANT_IDS: auth.AUTH_TENANT_IDS }).setting).toBe(
      'AUTH_AUDIENCES',
    );
    expect(configError({ ...auth, AUTH_INTEGRATION_BINDINGS: '{"app":"cs101"}' }).setting).toBe('AUTH_INTEGRATION_BINDINGS');
    const c = loadConfig({ KUBECONFIG: path, REDIS_URL: 'redis://127.0.0.1:6379', ...auth });
    expect(c.auth).toMatchObject({
      tenantIds: ['11111111-1111-1111-1111-111111111111'],
      audiences: ['api://labplane'],
      adminAppRoles: ['LabPlane.Admin'],
    });
    expect(c.kube).toEqual({ mode: 'kubeconfig', path });
    expect(c.devMode).toBe(false);
    expect(configError({ KUBECONFIG: path, REDIS_URL: 'redis://127.0.0.1:6379', DEV_MODE: 'true', ...auth }).setting).toBe('DEV_MODE');
  });

  it('refuses a kubeconfig path that does not exist, and in-cluster mode outside a cluster', () => {
    expect(configError({ KUBECONFIG: '/nonexistent/kubeconfig' }).setting).toBe('KUBECONFIG');
    expect(configError({ KUBE_MODE: 'in-cluster' }).setting).toBe('KUBERNETES_SERVICE_HOST');
  });

  it('takes Azure settings all together or not at all', () => {
    expect(configError({ AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000' }).setting).toBe('AZURE_RESOURCE_GROUP');
    const c = loadConfig({
      AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
      AZURE_RESOURCE_GROUP: 'rg-labs',
      AZURE_LOCATION: 'westeurope',
      AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111',
    });
    expect(c.azure).toMatchObject({ mode: 'arm', resourceGroup: 'rg-labs', onboarding: undefined });
  });

  it('takes a dedicated onboarding identity that is not the control plane one', () => {
    const azure = {
      AZURE_SUBSCRIPTION_ID: '00000000-0000-0000-0000-000000000000',
      AZURE_RESOURCE_GROUP: 'rg-labs',
      AZURE_LOCATION: 'westeurope',
      AZURE_TENANT_ID: '11111111-1111-1111-1111-111111111111',
      AZURE_CLIENT_ID: '22222222-2222-2222-2222-222222222222',
    };
    expect(loadConfig({ ...azure, AZURE_ONBOARDING_CLIENT_ID: '33333333-3333-3333-3333-333333333333' }).azure).toMatchObject({
      onboarding: { clientId: '33333333-3333-3333-3333-333333333333', clientSecret: undefined },
    });
    expect(configError({ ...azure, AZURE_ONBOARDING_CLIENT_ID: azure.AZURE_CLIENT_ID }).setting).toBe('AZURE_ONBOARDING_CLIENT_ID');
    expect(configError({ ...azure, AZURE_ONBOARDING_CLIENT_SECRET: 's3cret' }).setting).toBe('AZURE_ONBOARDING_CLIENT_ID');
    expect(loadConfig(azure).azure).toMatchObject({ cluster: undefined });
    expect(loadConfig({ ...azure, AZURE_ARC_CLUSTER: 'aks-weu-1' }).azure).toMatchObject({ cluster: 'aks-weu-1' });
    expect(configError({ ...azure, AZURE_ARC_CLUSTER: 'AKS,x=y' }).setting).toBe('AZURE_ARC_CLUSTER');
    expect(loadConfig({}).janitorIntervalMs).toBe(600_000);
    expect(configError({ JANITOR_INTERVAL_MS: '10' }).setting).toBe('JANITOR_INTERVAL_MS');
  });

  it('the idle detector looks every minute unless IDLE_CHECK_INTERVAL_MS says otherwise; the usage signal is off without PROMETHEUS_URL', () => {
    expect(loadConfig({}).idleCheckIntervalMs).toBe(60_000);
    expect(loadConfig({ IDLE_CHECK_INTERVAL_MS: '15000' }).idleCheckIntervalMs).toBe(15_000);
    expect(configError({ IDLE_CHECK_INTERVAL_MS: '10' }).setting).toBe('IDLE_CHECK_INTERVAL_MS');
    expect(loadConfig({}).usage).toEqual({ mode: 'off' });
    expect(loadConfig({ PROMETHEUS_URL: 'http://prometheus-k8s.monitoring:9090' }).usage).toMatchObject({
      mode: 'prometheus',
      url: 'http://prometheus-k8s.monitoring:9090',
      auth: { kind: 'none' },
    });
    expect(configError({ PROMETHEUS_AUTH: 'bearer' }).setting).toBe('PROMETHEUS_URL');
  });

  it('the rate limit is 600 a minute by default, between 1 and 60,000,000 (a million a second)', () => {
    expect(loadConfig({}).rateLimitPerMinute).toBe(600);
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '60000000' }).rateLimitPerMinute).toBe(60_000_000);
    expect(configError({ RATE_LIMIT_PER_MINUTE: '0' }).setting).toBe('RATE_LIMIT_PER_MINUTE');
    expect(configError({ RATE_LIMIT_PER_MINUTE: '60000001' }).setting).toBe('RATE_LIMIT_PER_MINUTE');
  });

  it('the usage meter passes every minute by default, between 1 s and 1 h', () => {
    expect(loadConfig({}).usageMeterIntervalMs).toBe(60_000);
    expect(loadConfig({ USAGE_METER_INTERVAL_MS: '5000' }).usageMeterIntervalMs).toBe(5_000);
    expect(configError({ USAGE_METER_INTERVAL_MS: '999' }).setting).toBe('USAGE_METER_INTERVAL_MS');
    expect(configError({ USAGE_METER_INTERVAL_MS: '3600001' }).setting).toBe('USAGE_METER_INTERVAL_MS');
  });

  it('lab settings and the shared Kubernetes write budget have defaults and refuse values out of range', () => {
    const c = loadConfig({});
    expect(c.labs).toEqual({ parallelism: 50, tickMs: 30_000, claimTimeoutMs: 120_000, ltiRosterSyncHours: 24 });
    expect([c.kubeQps, c.kubeBurst]).toEqual([50, 100]);
    expect(
      loadConfig({ LAB_PARALLELISM: '150', LAB_TICK_MS: '200', LAB_SCHEDULE_CLAIM_TIMEOUT_MS: '5000', LTI_ROSTER_SYNC_HOURS: '6' }).labs,
    ).toEqual({
      parallelism: 150,
      tickMs: 200,
      claimTimeoutMs: 5_000,
      ltiRosterSyncHours: 6,
    });
    expect(configError({ LTI_ROSTER_SYNC_HOURS: '0' }).setting).toBe('LTI_ROSTER_SYNC_HOURS');
    expect(configError({ LAB_PARALLELISM: '0' }).setting).toBe('LAB_PARALLELISM');
    expect(configError({ LAB_TICK_MS: '5' }).setting).toBe('LAB_TICK_MS');
    expect(configError({ LAB_SCHEDULE_CLAIM_TIMEOUT_MS: '10' }).setting).toBe('LAB_SCHEDULE_CLAIM_TIMEOUT_MS');
  });

  it('console caps and time limits have defaults and refuse values out of range', () => {
    expect(loadConfig({}).consoles).toEqual({ perTenant: 20, perVm: 2, idleTimeoutMs: 900_000, maxSessionMs: 14_400_000 });
    expect(loadConfig({ CONSOLES_PER_VM: '1', CONSOLE_IDLE_TIMEOUT_MS: '5000' }).consoles).toMatchObject({ perVm: 1, idleTimeoutMs: 5000 });
    expect(configError({ CONSOLES_PER_VM: '0' }).setting).toBe('CONSOLES_PER_VM');
    expect(configError({ CONSOLES_PER_TENANT: 'many' }).setting).toBe('CONSOLES_PER_TENANT');
    expect(configError({ CONSOLE_IDLE_TIMEOUT_MS: '10' }).setting).toBe('CONSOLE_IDLE_TIMEOUT_MS');
    expect(configError({ CONSOLE_MAX_SESSION_MS: String(8 * 86_400_000) }).setting).toBe('CONSOLE_MAX_SESSION_MS');
  });

  it('the webhook outbox grace period has a default and refuses values out of range', () => {
    expect(loadConfig({}).webhooks.outboxGraceMs).toBe(10_000);
    expect(loadConfig({ WEBHOOK_OUTBOX_GRACE_MS: '2500' }).webhooks.outboxGraceMs).toBe(2_500);
    expect(configError({ WEBHOOK_OUTBOX_GRACE_MS: '5' }).setting).toBe('WEBHOOK_OUTBOX_GRACE_MS');
  });

  it('keeps the queue dashboard read-only unless QUEUE_DASHBOARD_WRITE says otherwise', () => {
    expect(loadConfig({}).queueDashboardWrite).toBe(false);
    expect(loadConfig({ QUEUE_DASHBOARD_WRITE: 'true' }).queueDashboardWrite).toBe(true);
    expect(loadConfig({ QUEUE_DASHBOARD_WRITE: 'false' }).queueDashboardWrite).toBe(false);
    expect(configError({ QUEUE_DASHBOARD_WRITE: 'rw' }).setting).toBe('QUEUE_DASHBOARD_WRITE');
  });

  it('lets any site frame the LTI pages unless LTI_FRAME_ANCESTORS names them, and refuses what is not a CSP source list', () => {
    expect(loadConfig({}).ltiFrameAncestors).toBe('*');
    const given = "'self' https://canvas.example.edu https://*.instructure.com:443";
    expect(loadConfig({ LTI_FRAME_ANCESTORS: given }).ltiFrameAncestors).toBe(given);
    for (const bad of ["* ; script-src 'unsafe-inline'", 'a,b', "'unsafe-inline'", 'https://x\nHeader: y']) {
      expect(configError({ LTI_FRAME_ANCESTORS: bad }).setting).toBe('LTI_FRAME_ANCESTORS');
    }
  });
});
