import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { createMemoryUsageLedger } from '../adapters/memory/usage-ledger.js';
import { usageModule } from '../api/modules/index.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import type { StudentUsageReader, UsageLedger } from '../domain/usage/ports.js';
import { createQuotaGate } from '../domain/usage/quota-gate.js';
import { createUsageService, type UsageService } from '../domain/usage/usage-service.js';
import type { StartGate } from '../domain/vms/vm-actions.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import { createUsageMeter, type UsageMeter } from '../jobs/usage-meter.js';
import { defineArea, type Platform } from './area.js';

/** Key prefix of the usage ledger on Redis (the same as the other stores'). */
const PREFIX = 'labplane';

export interface UsageExports {
  /** Lab students' usage against their quota (the quota refusal, the idle detector's quota stops). */
  readonly reader: StudentUsageReader;
  readonly ledger: UsageLedger;
  readonly service: UsageService;
  /** The meter (a leader loop); `tick()` runs a pass now (tests, with `usageClock`). */
  readonly meter: UsageMeter;
}

/** On Redis when the process has it (REDIS_URL: shared by replicas, survives restarts), else in memory (the embedded default). */
export async function usageLedgerFor(redis: Redis | undefined): Promise<UsageLedger> {
  if (redis === undefined) return createMemoryUsageLedger();
  const { createRedisUsageLedger } = await import('../adapters/redis/usage-ledger.js');
  return createRedisUsageLedger({ redis, prefix: PREFIX });
}

/**
 * Metrics of usage, per tenant (never per student: bounded): hours the meter saw VMs run, and lab
 * students whose quota is used up.
 */
function usageMetrics(registry: Registry): { metered(tenant: string, ms: number): void; exhausted: Gauge } {
  const hours = new Counter({
    name: 'labplane_usage_metered_hours_total',
    help: 'Hours of VM running time the usage meter of this process recorded, per tenant (class hours included).',
    labelNames: ['tenant'],
    registers: [registry],
  });
  const exhausted = new Gauge({
    name: 'labplane_usage_students_exhausted',
    help: 'Lab students whose usage quota is used up, per tenant (as of the meter’s last pass).',
    labelNames: ['tenant'],
    registers: [registry],
  });
  return { metered: (tenant, ms) => hours.inc({ tenant }, ms / 3_600_000), exhausted };
}

/**
 * Usage metering of VMs (the ledger, the meter on the leader), the lab usage reports and tenant
 * summary (API), and the quota refusal of a student's start (a start gate given to the VM use cases).
 * Its clock is the world's `usageClock` when a test sets one.
 */
export const usageArea = defineArea({
  name: 'usage',
  needs: ['vms', 'labs'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'world' | 'tenantRepo' | 'metrics' | 'redis'> & {
      readonly vms: { readonly repo: VmRepository; gateStarts(gate: StartGate): void };
      readonly labs: { readonly repo: LabRepository };
    },
  ) {
    const clock = ctx.world.usageClock ?? ctx.clock;
    const logger = ctx.logger.child({ component: 'usage' });
    const ledger = await usageLedgerFor(ctx.redis);
    const service = createUsageService({ labs: ctx.labs.repo, vms: ctx.vms.repo, tenants: ctx.tenantRepo, ledger, clock });
    ctx.vms.gateStarts(createQuotaGate(service));
    const metrics = usageMetrics(ctx.metrics);
    const labs = ctx.labs.repo;
    const meter = createUsageMeter({
      vms: ctx.vms.repo,
      labs,
      ledger,
      clock,
      logger,
      intervalMs: ctx.config.usageMeterIntervalMs,
      onMetered: metrics.metered,
      afterPass: async () => {
        const counts = new Map<string, number>();
        for (const lab of await labs.list()) {
          if (lab.costControls?.usageQuotaHours === undefined) continue;
          const usage = await service.labUsageOf(lab);
          counts.set(lab.tenant, (counts.get(lab.tenant) ?? 0) + usage.students.filter((s) => s.exhausted).length);
        }
        metrics.exhausted.reset();
        for (const [tenant, n] of counts) metrics.exhausted.set({ tenant }, n);
      },
    });
    return {
      exports: { reader: service, ledger, service, meter } satisfies UsageExports,
      api: [usageModule(service)],
      leaderLoops: [meter],
      close: () => meter.stop(),
    };
  },
});
