import { Writable } from 'node:stream';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/main/config.js';
import { buildDeps } from '../../src/main/deps.js';
import { createLogger, loggerOptions } from '../../src/main/logger.js';

describe('logs', () => {
  it('never contain bearer tokens or seeded secrets, even for refused and failing requests', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const config = loadConfig({ LOG_LEVEL: 'trace', MAX_EVENT_LOOP_DELAY_MS: '0' });
    const deps = await buildDeps(config, createLogger({ logLevel: 'silent' }));
    const app = await buildApp({
      logger: { ...loggerOptions(config), stream } as never,
      devMode: true,
      corsOrigins: [],
      bodyLimitBytes: 1 << 20,
      modules: deps.modules,
      idempotency: deps.jobs.idempotency,
      auditLog: deps.jobs.auditLog,
      dashboardQueues: [],
      dashboardWrite: false,
      principals: deps.principals,
      devTokens: deps.devTokens,
      readiness: deps.readiness,
      metrics: deps.metrics,
      maxEventLoopDelayMs: 0,
      rateLimitPerMinute: 1000,
      rateLimitRedis: undefined,
      routes: deps.routes,
    });
    try {
      await app.ready();
      const { accessToken } = await (deps.devTokens as NonNullable<typeof deps.devTokens>).issue({ sub: 'alice', roles: ['platform-admin'] });
      const secret = 'S3cr3t-seeded-value-7f1c';
      await request(app.server).get('/v1/tenants').set('authorization', `Bearer ${accessToken}`);
      await request(app.server).get('/v1/tenants').set('authorization', `Bearer ${secret}`);
      await request(app.server).get('/v1/tenants').set('authorization', `Bearer ${accessToken}`).set('cookie', `session=${secret}`);
      await request(app.server)
        .post('/v1/tenants')
        .set('authorization', `Bearer ${accessToken}`)
        .send({ id: 'redact-me', displayName: 'x', profile: 'student', password: secret });
      const dev = await request(app.server).post('/dev/token').send({ sub: 'bob' });
      // A console ticket is a credential in a path: requested (refused, no upgrade) and logged without it.
      const ticket = 'T1ck3tT1ck3tT1ck3tT1ck3tT1ck3tT1ck3tT1ck3t';
      expect((await request(app.server).get(`/v1/console/${ticket}`)).status).toBe(426);
      const logged = lines.join('');
      expect(lines.length).toBeGreaterThan(5);
      expect(logged).toContain('request completed');
      expect(logged).not.toContain(accessToken);
      expect(logged).not.toContain(dev.body.accessToken);
      expect(logged).not.toContain(secret);
      expect(logged).not.toContain(ticket);
      expect(logged).toContain('/v1/console/[redacted]');
    } finally {
      await app.close();
      await deps.close();
    }
  });
});
