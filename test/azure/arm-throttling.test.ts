import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { startWireFixture, type WireFixture } from './support/azure-fixture.js';

let fx: WireFixture;
afterEach(async () => {
  await fx?.close();
});

const seed = (name: string) =>
  fx.server.state.machines.set(name, {
    name,
    status: 'Connected',
    tags: {},
    lastStatusChange: '2025-03-01T07:58:12Z',
    agentVersion: '1.48.02881.1941',
  });
const throttle = (retryAfter: string, path = '/machines/vm-1') =>
  fx.server.inject({
    method: 'GET',
    path,
    status: 429,
    headers: { 'retry-after': retryAfter },
    body: { error: { code: 'TooManyRequests', message: 'slow down' } },
  });

describe('429 Retry-After over the wire', () => {
  it('a 429 is waited out for exactly Retry-After inside the call, then the call succeeds (no double wait)', async () => {
    fx = await startWireFixture();
    seed('vm-1');
    throttle('1');
    const started = performance.now();
    expect(await fx.arc().getMachine('vm-1')).toMatchObject({ status: 'Connected' });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(1_800);
    expect(fx.server.requests.map((r) => r.status)).toEqual([429, 200]);
    const [first, second] = fx.server.requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(fx.budget.stats()).toMatchObject({ reads: 2, throttled: 1 });
  });

  it('while one call waits out a 429, the other calls of the same principal hold back too', async () => {
    fx = await startWireFixture();
    seed('vm-1');
    seed('vm-2');
    throttle('1');
    const arc = fx.arc();
    const first = arc.getMachine('vm-1');
    // The first call must be waiting out its 429 when the second starts: wait for the client's budget to have seen it.
    await eventually(() => fx.budget.stats().throttled >= 1, 10_000, 'the client to see the 429');
    await Promise.all([first, arc.getMachine('vm-2')]);
    const throttledAt = fx.server.requests.find((r) => r.status === 429)?.at ?? 0;
    const other = fx.server.requests.find((r) => r.path.endsWith('/vm-2'));
    expect((other?.at ?? 0) - throttledAt).toBeGreaterThanOrEqual(900);
  });

  it('a Retry-After beyond the inline maximum fails at once with AZURE_THROTTLED and retryAfterSeconds, without a retry', async () => {
    fx = await startWireFixture({ budget: { maxInlineRetryAfterSeconds: 5 } });
    seed('vm-1');
    throttle('120');
    const started = performance.now();
    const err = await fx
      .arc()
      .getMachine('vm-1')
      .catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(500);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_THROTTLED', retryAfterSeconds: 120 });
    expect(fx.server.requests).toHaveLength(1);
  });

  it("after the SDK's last retry a 429 surfaces as a retryable AZURE_THROTTLED, not a permanent failure", async () => {
    fx = await startWireFixture({ retry: { maxRetries: 1 } });
    seed('vm-1');
    fx.server.inject({
      method: 'GET',
      status: 429,
      headers: { 'retry-after': '0' },
      body: { error: { code: 'TooManyRequests', message: 'no' } },
      times: 5,
    });
    const err = await fx
      .arc()
      .getMachine('vm-1')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AZURE_THROTTLED', retryAfterSeconds: 0 });
    expect(fx.server.requests).toHaveLength(2);
  });
});

describe('client-side budget', () => {
  const serverBuckets = { reads: { ratePerSecond: 20, burst: 10 } };

  // The budget is well inside the server's bucket (half its burst, 40% of its rate): the requests
  // depart in real time, and a loaded machine that stalls the client's loop releases the reads
  // scheduled during the stall together, so the margin must absorb a stall, not only exact spacing.
  it("keeps a burst of 20 concurrent reads within ARM's bucket: no 429 at all", async () => {
    fx = await startWireFixture({ server: { throttling: serverBuckets }, budget: { reads: { ratePerSecond: 8, burst: 4 } } });
    seed('vm-1');
    const arc = fx.arc();
    const results = await Promise.all(Array.from({ length: 20 }, () => arc.getMachine('vm-1')));
    expect(results.every((m) => m?.status === 'Connected')).toBe(true);
    expect(fx.server.requests.filter((r) => r.status === 429)).toHaveLength(0);
    expect(fx.budget.stats()).toMatchObject({ reads: 20, throttled: 0 });
    // 4 at once, the other 16 spaced at 8 per second: the last cannot arrive before 2 s.
    const at = fx.server.requests.map((r) => r.at).sort((a, b) => a - b);
    expect((at.at(-1) ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(1_900);
  });

  it('without a tight budget the same burst meets 429s, which are honoured until every read succeeds', async () => {
    fx = await startWireFixture({ server: { throttling: serverBuckets }, budget: { reads: { ratePerSecond: 1_000, burst: 1_000 } } });
    seed('vm-1');
    const arc = fx.arc();
    const results = await Promise.all(Array.from({ length: 30 }, () => arc.getMachine('vm-1')));
    expect(results.every((m) => m?.status === 'Connected')).toBe(true);
    expect(fx.budget.stats().throttled).toBeGreaterThan(0);
  });

  it('writes and deletes draw on their own buckets', async () => {
    fx = await startWireFixture({ budget: { writes: { ratePerSecond: 1, burst: 1 }, maxWaitMs: 100 } });
    seed('vm-1');
    const arc = fx.arc();
    await arc.deleteMachine('vm-1');
    await arc.getMachine('vm-1');
    await fx.access().revoke({ scope: `/subscriptions/${fx.settings.subscriptionId}`, role: 'user', principalId: 'p-1' });
    expect(fx.budget.stats()).toMatchObject({ deletes: 1 + 1, reads: 2, writes: 0 });
  });

  it('a call that would wait longer than maxWaitMs for its turn fails at once, client-side', async () => {
    fx = await startWireFixture({ budget: { writes: { ratePerSecond: 0.1, burst: 1 }, maxWaitMs: 1_000 } });
    seed('vm-1');
    const access = fx.access();
    const scope = `/subscriptions/${fx.settings.subscriptionId}/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/vm-1`;
    await access.grant({ scope, role: 'user', principalId: 'p-1', principalType: 'User' });
    const err = await access.grant({ scope, role: 'user', principalId: 'p-2', principalType: 'User' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AZURE_THROTTLED', details: { clientSide: true } });
    expect(fx.server.count('PUT')).toBe(1);
  });
});
