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

/** Holds the event loop, as a burst of synchronous work would. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy on purpose
  }
}

describe('load shedding', () => {
  // Real time: under-pressure samples the event-loop delay once a second, so the test blocks the
  // loop and polls (bounded) until the sample sees it; nothing here asserts a duration.
  it('under event-loop pressure readiness and the API answer 503 OVERLOADED, while liveness and metrics still answer', async () => {
    await expect
      .poll(
        async () => {
          block(150);
          return (await request(t.app.server).get('/readyz')).status;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(503);
    block(150); // so that a sample taken meanwhile still sees pressure
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
