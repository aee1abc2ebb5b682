import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisUsageLedger } from '../../src/adapters/redis/usage-ledger.js';
import { usageLedgerFor } from '../../src/main/usage.js';
import { HOUR, rig, TENANT } from './metering-rig.js';

const redis = new Redis(process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
const prefixes: string[] = [];
afterAll(async () => {
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  await redis.quit();
});

describe('usage metering on Redis', () => {
  it('a worker killed mid-way loses no usage and doubles none: two meters (two ledgers) on one Redis, replays included', async () => {
    const prefix = `test-usage-${randomUUID()}`;
    prefixes.push(prefix);
    const r = await rig({ quotaHours: 10, ledger: createRedisUsageLedger({ redis, prefix }) });
    const first = r.meter();
    await first.tick();
    r.clock.advance(HOUR);
    await first.tick();
    // The worker dies here; its successor comes an hour later with a ledger of its own on the same Redis,
    // and the dead worker's last pass races it (a replay of what it saw).
    r.clock.advance(HOUR);
    const second = r.meter(createRedisUsageLedger({ redis, prefix }));
    await Promise.all([second.tick(), first.tick()]);
    expect((await r.used())?.usedHours).toBe(2);
    const ref = { tenant: TENANT, name: r.vmName };
    const recorded = await r.ledger.transitions(ref);
    await createRedisUsageLedger({ redis, prefix }).record(ref, recorded);
    await second.tick();
    expect(await r.ledger.transitions(ref)).toHaveLength(recorded.length);
    expect((await r.used())?.usedHours).toBe(2);
    // The VM stops while no meter runs; a third meter closes the run at the last look: 2 h, not more.
    r.clock.advance(HOUR / 4);
    await r.vms.update(TENANT, r.vmName, { running: false });
    r.clock.advance(HOUR);
    await r.meter(createRedisUsageLedger({ redis, prefix })).tick();
    expect(await r.used()).toMatchObject({ usedHours: 2, exhausted: false });
  });

  it('the composition root keeps the ledger on Redis when the process has it, in memory otherwise', async () => {
    const ref = { tenant: TENANT, name: `vm-${randomUUID().slice(0, 8)}` };
    const run = { id: 'uid:running', at: '2026-03-02T08:00:00.000Z', state: 'running' as const };
    await (await usageLedgerFor(redis)).record(ref, [run]);
    expect(await (await usageLedgerFor(redis)).transitions(ref)).toEqual([run]);
    expect(await (await usageLedgerFor(undefined)).transitions(ref)).toEqual([]);
    await (await usageLedgerFor(redis)).forget(ref);
  });
});
