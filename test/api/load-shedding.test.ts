import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ MAX_EVENT_LOOP_DELAY_MS: '50' });
});
afterAll(async () => {
  await t?.close();
});

/**
 * Keeps the event loop busy about a second, in 100 ms slices with a turn of the loop between them,
 * as a stream of synchronous work would: under-pressure judges the mean delay of a sample, so one
 * long block among many short turns would not count.
 */
async function pressure(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const end = performance.now() + 100;
    while (performance.now() < end) {
      // busy on purpose
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('load shedding', () => {
  // Real time: under-pressure samples the event-loop delay once a second, so the test keeps the
  // loop busy and polls (bounded) until a sample sees it; nothing here asserts a duration.
  it('under event-loop pressure readiness and the API answer 503 OVERLOADED, while liveness and metrics still answer', async () => {
    await expect
      .poll(
        async () => {
          await pressure();
          return (await request(t.app.server).get('/readyz')).status;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(503);
    await pressure(); // so that a sample taken meanwhile still sees pressure
    const [ready, live, metrics, api] = await Promise.all([
      request(t.app.server).get('/readyz'),
      request(t.app.server).get('/healthz'),
      request(t.app.server).get('/metrics'),
      request(t.app.server).get('/v1/tenants'),
    ]);
    expect(ready.body.code).toBe('OVERLOADED');
    expect(api.status).toBe(503);
    expect(live.status).toBe(200);
    expect(metrics.status).toBe(200);
  });
});
