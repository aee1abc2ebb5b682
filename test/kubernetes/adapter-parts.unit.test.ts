import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateCidrs } from '../../src/adapters/kubernetes/cidrs.js';
import { parseQuotaMessage, translateKubeError } from '../../src/adapters/kubernetes/errors.js';
import { ObjectStore, isNewer } from '../../src/adapters/kubernetes/object-store.js';
import { cpuFromQuantity, formatCpu, giFromQuantity, parseQuantity, quantityValue } from '../../src/adapters/kubernetes/quantity.js';
import { createKubeBudget, createKubeClient } from '../../src/adapters/kubernetes/kube-client.js';
import { loadKubeConfig } from '../../src/adapters/kubernetes/kube-config.js';
import { MARGIN_MS } from '../../src/domain/identity/token-bucket.js';
import { manualClock } from '../azure/support/manual-clock.js';
import { ConflictError, NotFoundError, QuotaExceededError, UpstreamRejectedError, UpstreamUnavailableError } from '../../src/domain/shared/errors.js';

const ctx = { what: 'test call', resource: 'tenant', name: 't1' };
const status = (code: number, reason: string, message = '', details: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
  new ApiException<string>(
    code,
    'x',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message, details }),
    headers,
  );

describe('quantities', () => {
  it('parses decimal, binary and exponent suffixes', () => {
    expect(quantityValue(parseQuantity('500m'))).toBe(0.5);
    expect(quantityValue(parseQuantity('16Gi'))).toBe(16 * 2 ** 30);
    expect(quantityValue(parseQuantity('1k'))).toBe(1000);
    expect(quantityValue(parseQuantity('1e3'))).toBe(1000);
    expect(() => parseQuantity('ten')).toThrow(RangeError);
  });
  it('formats whole CPUs plainly and fractions in millicores', () => {
    expect(formatCpu(8)).toBe('8');
    expect(formatCpu(0.5)).toBe('500m');
    expect(formatCpu(2.25)).toBe('2250m');
  });
  it('is the emulator’s exact parser: no float drift, sub-milli amounts round up as Kubernetes does', () => {
    expect(cpuFromQuantity('0.1m')).toBe(0.001);
    expect(cpuFromQuantity('-0')).toBe(0);
    expect(giFromQuantity('1.5Gi')).toBe(1.5);
    expect(giFromQuantity(String(2 ** 30 + 1))).toBe(1.001);
    expect(parseQuantity('0.3').milli + parseQuantity('0.6').milli).toBe(parseQuantity('900m').milli);
  });
  it('reads usage in quota units, never rounding a non-zero amount down to zero', () => {
    expect(cpuFromQuantity('250m')).toBe(0.25);
    expect(giFromQuantity('512Mi')).toBe(0.5);
    expect(giFromQuantity('1')).toBe(0.001);
    expect(giFromQuantity('20Gi')).toBe(20);
  });
});

describe('error translation', () => {
  it('404 becomes NotFoundError of the named resource', () => {
    const err = translateKubeError(status(404, 'NotFound', 'namespaces "t1" not found'), ctx);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ code: 'TENANT_NOT_FOUND' });
  });
  it('409 AlreadyExists and 409 Conflict become different conflict codes', () => {
    expect(translateKubeError(status(409, 'AlreadyExists'), ctx)).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(translateKubeError(status(409, 'Conflict'), ctx)).toMatchObject({ code: 'VERSION_CONFLICT' });
    expect(translateKubeError(status(409, 'Conflict'), ctx)).toBeInstanceOf(ConflictError);
  });
  it('422 lists the causes (field and message) and never the raw body', () => {
    const err = translateKubeError(
      status(422, 'Invalid', 'Namespace "x" is invalid: secret-token-in-message', {
        causes: [{ field: 'metadata.name', message: 'bad', reason: 'FieldValueInvalid' }],
      }),
      ctx,
    );
    expect(err).toBeInstanceOf(UpstreamRejectedError);
    expect(err).toMatchObject({ code: 'KUBERNETES_INVALID', details: { causes: [{ field: 'metadata.name', message: 'bad' }] } });
    expect((err as Error).message).not.toContain('secret-token-in-message');
  });
  it('403 exceeded quota carries the parsed figures; other 403s are KUBERNETES_FORBIDDEN', () => {
    const msg =
      'persistentvolumeclaims "c" is forbidden: exceeded quota: labplane-quota, requested: persistentvolumeclaims=1,requests.storage=10Gi, used: persistentvolumeclaims=5,requests.storage=50Gi, limited: persistentvolumeclaims=5,requests.storage=250Gi';
    const err = translateKubeError(status(403, 'Forbidden', msg), ctx);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({
      code: 'QUOTA_EXCEEDED',
      details: {
        quota: 'labplane-quota',
        resources: [
          { resource: 'persistentvolumeclaims', requested: '1', used: '5', limited: '5' },
          { resource: 'requests.storage', requested: '10Gi', used: '50Gi', limited: '250Gi' },
        ],
      },
    });
    expect(translateKubeError(status(403, 'Forbidden', 'nope'), ctx)).toMatchObject({ code: 'KUBERNETES_FORBIDDEN' });
    expect(parseQuotaMessage('unrelated')).toBeUndefined();
  });
  it('403 from NamespaceLifecycle (a namespace being deleted) is the tenant terminating, a 409, not an RBAC refusal', () => {
    // The Status a real API server sends when creating in a terminating namespace.
    const msg =
      'rolebindings.rbac.authorization.k8s.io "b" is forbidden: unable to create new content in namespace t1 because it is being terminated';
    const err = translateKubeError(
      status(403, 'Forbidden', msg, {
        name: 'b',
        group: 'rbac.authorization.k8s.io',
        kind: 'rolebindings',
        causes: [{ reason: 'NamespaceTerminating', message: 'namespace t1 is being terminated', field: 'metadata.namespace' }],
      }),
      ctx,
    );
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'TENANT_TERMINATING' });
    // Another 403 with causes of another reason stays an RBAC refusal.
    const other = status(403, 'Forbidden', 'nope', { causes: [{ reason: 'FieldValueForbidden', message: 'x', field: 'spec' }] });
    expect(translateKubeError(other, ctx)).toMatchObject({ code: 'KUBERNETES_FORBIDDEN' });
  });
  it('429 carries Retry-After; 5xx, refused connections and timeouts are KUBERNETES_UNAVAILABLE', () => {
    const throttled = translateKubeError(status(429, 'TooManyRequests', '', {}, { 'retry-after': '3' }), ctx);
    expect(throttled).toBeInstanceOf(UpstreamUnavailableError);
    expect(throttled).toMatchObject({ code: 'KUBERNETES_THROTTLED', retryAfterSeconds: 3 });
    expect(translateKubeError(status(503, 'ServiceUnavailable'), ctx)).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    const refused = Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
    expect(translateKubeError(refused, ctx)).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE' });
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(translateKubeError(timeout, ctx)).toMatchObject({ code: 'KUBERNETES_UNAVAILABLE', details: { timeout: true } });
  });
  it('leaves programming errors alone', () => {
    const bug = new RangeError('bug');
    expect(translateKubeError(bug, ctx)).toBe(bug);
  });
});

describe('request budget of the Kubernetes client', () => {
  const kubeConfig = loadKubeConfig({ server: 'http://127.0.0.1:9' });
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

  it('reads take a token as well as writes: a burst, then the sustained rate', async () => {
    const clock = manualClock(0);
    const waits: number[] = [];
    const sleep = async (ms: number) => {
      waits.push(Math.round(ms));
      clock.advance(ms);
    };
    const client = createKubeClient({ kubeConfig, logger: silent, rateLimit: { ratePerSecond: 10, burst: 2, clock, sleep } });
    const send = () => Promise.resolve('ok');
    await client.request({ what: 'read', write: false }, send);
    await client.request({ what: 'write', write: true }, send);
    expect(waits).toEqual([]);
    await client.request({ what: 'read', write: false }, send);
    await client.request({ what: 'write', write: true }, send);
    expect(waits).toEqual([100 + MARGIN_MS, 100]);
  });

  it('refuses a caller who would wait longer than maxWaitMs, with a retry hint', async () => {
    const bucket = createKubeBudget({ ratePerSecond: 1, burst: 1, maxWaitMs: 500, clock: manualClock(0), sleep: async () => undefined });
    await bucket.take();
    await expect(bucket.take()).rejects.toMatchObject({ code: 'KUBERNETES_THROTTLED', retryAfterSeconds: 1 });
  });

  it('a 429 without Retry-After is retried after a jittered backoff, so clients throttled together spread out', async () => {
    const waited: number[] = [];
    let calls = 0;
    const throttled = () => new ApiException<string>(429, 'x', JSON.stringify({ kind: 'Status', code: 429, reason: 'TooManyRequests' }), {});
    for (const r of [0, 0.99]) {
      const client = createKubeClient({ kubeConfig, logger: silent, random: () => r, sleep: async (ms) => void waited.push(ms) });
      calls = 0;
      await client.request({ what: 'read', write: false }, () => (++calls === 1 ? Promise.reject(throttled()) : Promise.resolve(1)));
    }
    expect(waited).toHaveLength(2);
    expect(waited[0]).toBeGreaterThanOrEqual(125);
    expect(waited[1]).toBeLessThan(250);
    expect(waited[0]).not.toBe(waited[1]);
  });
});

describe('object store', () => {
  const ns = (name: string, rv: string) => ({ metadata: { name, resourceVersion: rv } });
  it('keeps the newest version whatever order writes and events arrive in', () => {
    const s = new ObjectStore<ReturnType<typeof ns>>();
    s.upsert(ns('a', '10'));
    s.upsert(ns('a', '9'));
    expect(s.get('a')?.metadata.resourceVersion).toBe('10');
    s.remove(ns('a', '10'));
    s.upsert(ns('a', '10'));
    expect(s.get('a')).toBeUndefined();
    s.upsert(ns('a', '11'));
    expect(s.get('a')?.metadata.resourceVersion).toBe('11');
  });
  it('a relist drops what vanished but keeps what we wrote after the list was taken', () => {
    const s = new ObjectStore<ReturnType<typeof ns>>();
    s.upsert(ns('old', '3'));
    s.upsert(ns('mine', '12'));
    s.replace([ns('listed', '5')], '10');
    expect(
      s
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['listed', 'mine']);
    expect(isNewer('100', '99')).toBe(true);
  });
});

describe('cluster CIDRs', () => {
  it('accepts IPv4 and IPv6 ranges and refuses typos', () => {
    expect(validateCidrs([' 10.244.0.0/16', 'fd00::/8'])).toEqual(['10.244.0.0/16', 'fd00::/8']);
    expect(() => validateCidrs(['10.244.0.0'])).toThrow(TypeError);
    expect(() => validateCidrs(['10.244.0.0/33'])).toThrow(TypeError);
    expect(() => validateCidrs(['0.0.0.0/0'])).toThrow(TypeError);
  });
});
