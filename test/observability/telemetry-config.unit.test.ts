import { createHttpHeaders, createPipelineRequest } from '@azure/core-rest-pipeline';
import { describe, expect, it } from 'vitest';
import { armBudgetPolicy, createArmBudget } from '../../src/adapters/azure/arm-budget.js';
import { silentAzureLogger } from '../../src/adapters/azure/logger.js';
import { armResourceOf, kubeResourceOf, type UpstreamMetrics } from '../../src/domain/shared/upstream-metrics.js';
import { otlpOptions, samplerFromEnv, tracingRequested } from '../../src/main/telemetry.js';

describe('tracing configuration by the standard OTEL_* variables', () => {
  it('is off unless an OTLP endpoint or a traces exporter is named; OTEL_SDK_DISABLED and exporter none win', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe(true);
    expect(tracingRequested({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
    expect(tracingRequested({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe(false);
  });

  it('sends to <endpoint>/v1/traces (or the traces endpoint as given) with the configured headers', () => {
    expect(otlpOptions({})).toEqual({});
    expect(otlpOptions({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toEqual({ url: 'http://c:4318/v1/traces' });
    expect(otlpOptions({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t/x' })).toEqual({
      url: 'https://t/x',
    });
    expect(otlpOptions({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-tenant = t1 ,bad' })).toEqual({
      headers: { 'api-key': 'a=b', 'x-tenant': 't1' },
    });
  });

  it('samples as OTEL_TRACES_SAMPLER says (parent-based always-on by default) and refuses an unknown sampler', async () => {
    expect(String(await samplerFromEnv({}))).toMatch(/ParentBased\{root=AlwaysOnSampler/);
    expect(String(await samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }))).toMatch(
      /ParentBased\{root=TraceIdRatioBased\{0\.1\}/,
    );
    expect(String(await samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }))).toBe('AlwaysOffSampler');
    await expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).rejects.toThrow(/OTEL_TRACES_SAMPLER/);
  });
});

describe('bounded labels of upstream calls', () => {
  it('names the resource type of a Kubernetes path, never a namespace or name', () => {
    expect(kubeResourceOf('/api/v1/namespaces/t1/secrets/vm-a-cloudinit')).toBe('secrets');
    expect(kubeResourceOf('/apis/kubevirt.io/v1/namespaces/t1/virtualmachines')).toBe('virtualmachines');
    expect(kubeResourceOf('/apis/subresources.kubevirt.io/v1/namespaces/t1/virtualmachines/vm-a/start')).toBe('virtualmachines/start');
    expect(kubeResourceOf('/api/v1/namespaces/t1')).toBe('namespaces');
    expect(kubeResourceOf('/apis/labplane.io/v1/labs')).toBe('labs');
  });

  it('names the provider and resource types of an ARM URL, never a subscription, group or machine', () => {
    const base = 'https://management.azure.com/subscriptions/s-1/resourceGroups/rg/providers';
    expect(armResourceOf(`${base}/Microsoft.HybridCompute/machines/vm-a?api-version=1`)).toBe('Microsoft.HybridCompute/machines');
    expect(armResourceOf(`${base}/Microsoft.HybridCompute/machines/vm-a/extensions/AADSSHLoginForLinux`)).toBe(
      'Microsoft.HybridCompute/machines/extensions',
    );
    expect(armResourceOf(`${base}/Microsoft.HybridCompute/machines/vm-a/providers/Microsoft.Authorization/roleAssignments/g-1`)).toBe(
      'Microsoft.Authorization/roleAssignments',
    );
    expect(armResourceOf('not a url')).toBe('other');
  });

  it('the ARM budget policy counts answers by verb, resource and status, its waits, and 429s', async () => {
    const seen: string[] = [];
    const metrics: UpstreamMetrics = {
      request: (c) => seen.push(`${c.upstream} ${c.verb} ${c.resource} ${c.status}`),
      budgetWait: (u, s) => seen.push(`${u} wait ${s >= 0 ? 'ok' : 'negative'}`),
      throttled: (u) => seen.push(`${u} throttled`),
    };
    const policy = armBudgetPolicy(createArmBudget({ metrics, maxInlineRetryAfterSeconds: 10 }), silentAzureLogger);
    const url = 'https://arm.example/subscriptions/s/resourceGroups/g/providers/Microsoft.HybridCompute/machines/m';
    const answer =
      (status: number, headers: Record<string, string> = {}) =>
      async (request: ReturnType<typeof createPipelineRequest>) => ({
        request,
        status,
        headers: createHttpHeaders(headers),
      });
    await policy.sendRequest(createPipelineRequest({ url, method: 'GET' }), answer(200));
    await policy.sendRequest(createPipelineRequest({ url, method: 'PUT' }), answer(429, { 'retry-after': '1' }));
    await expect(
      policy.sendRequest(createPipelineRequest({ url, method: 'DELETE' }), async () => {
        throw new Error('socket hang up');
      }),
    ).rejects.toThrow('socket hang up');
    expect(seen).toEqual([
      'arm wait ok',
      'arm GET Microsoft.HybridCompute/machines 200',
      'arm wait ok',
      'arm PUT Microsoft.HybridCompute/machines 429',
      'arm throttled',
      'arm wait ok',
      'arm DELETE Microsoft.HybridCompute/machines error',
    ]);
  });
});
