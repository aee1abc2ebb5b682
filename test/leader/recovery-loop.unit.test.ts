import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecoveryLoop } from '../../src/jobs/recovery-loop.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('scheduled recovery', () => {
  it('recovers at once on start, then every interval, and not after stop', async () => {
    let calls = 0;
    const loop = createRecoveryLoop({ recover: () => Promise.resolve(++calls), intervalMs: 60_000, logger: silent });
    loop.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await loop.stop();
    await vi.advanceTimersByTimeAsync(600_000);
    expect(calls).toBe(2);
  });

  it('keeps its schedule when a pass fails, and stop waits for a running pass', async () => {
    let calls = 0;
    let finish: (() => void) | undefined;
    const warnings: string[] = [];
    const loop = createRecoveryLoop({
      recover: () => {
        calls += 1;
        if (calls === 1) return Promise.reject(new Error('redis is down'));
        return new Promise<number>((resolve) => (finish = () => resolve(0)));
      },
      intervalMs: 1_000,
      logger: { ...silent, warn: (_o: object, m?: string) => void warnings.push(m ?? '') },
    });
    loop.start();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toBe(2);
    expect(warnings).toHaveLength(1);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish?.();
    await stopping;
    expect(stopped).toBe(true);
  });
});
