import { VM_POWER_KINDS, vmTargetId } from '../domain/vms/vm.js';
import { Counter, Gauge } from 'prom-client';
import { createKubeGuestSessions } from '../adapters/kubernetes/vm-guest.js';
import { createMemoryIdleStateStore } from '../adapters/memory/idle-state-store.js';
import { loadPrometheusUsage } from '../adapters/prometheus/index.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import type { IdleStateStore } from '../domain/usage/idle-state-store.js';
import type { StudentUsageReader, UsageMetrics } from '../domain/usage/ports.js';
import { autoShutdownViewOf, costControlsOf, type AutoShutdownViews } from '../domain/usage/vm-cost-controls.js';
import type { GuestSessionSource } from '../domain/vms/guest-sessions.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmService } from '../domain/vms/vm-service.js';
import type { WebhookEvent } from '../domain/webhooks/events.js';
import { createIdleDetector, type IdleDetectorMetrics } from '../jobs/idle-detector-loop.js';
import { defineArea, type Platform } from './area.js';

export interface AutoShutdownExports {
  /** One pass of the idle detector now (tests drive it in fake time; the leader runs it every IDLE_CHECK_INTERVAL_MS). */
  tick(): Promise<void>;
  readonly store: IdleStateStore;
  /** The VMs' auto-shutdown as the API shows it. */
  readonly views: AutoShutdownViews;
}

/** The metrics of the idle detector (bounded labels: reasons and kinds are fixed sets). */
function detectorMetrics(registry: Platform['metrics']): IdleDetectorMetrics {
  const shutdowns = new Counter({
    name: 'labplane_auto_shutdowns_total',
    help: 'VM stops the idle detector started, by reason (AutoShutdown:Disconnect|NotConnected|Idle, UsageQuota:Exhausted).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const warnings = new Counter({
    name: 'labplane_idle_warnings_total',
    help: 'Warnings sent before a stop, by kind (idle: vm.idle-warning, quota: vm.quota-warning).',
    labelNames: ['kind'],
    registers: [registry],
  });
  const unavailable = new Gauge({
    name: 'labplane_vm_signals_unavailable',
    help: 'Running VMs with auto-shutdown whose signals (guest agent, usage figures) were unavailable in the last pass; never stopped for that.',
    registers: [registry],
  });
  return {
    autoShutdown: (reason) => shutdowns.inc({ reason }),
    warning: (kind) => warnings.inc({ kind }),
    signalsUnavailable: (n) => unavailable.set(n),
  };
}

/**
 * Auto-shutdown and quota enforcement of running VMs: the idle detector (a leader loop every
 * IDLE_CHECK_INTERVAL_MS) over the guest sessions (KubeVirt's `userlist`), the usage signal (the
 * Prometheus of the world: PROMETHEUS_URL, or the simulated one in the embedded default) and the
 * students' usage (the usage area's reader, when there is one), its state on Redis (REDIS_URL) or
 * in memory, and the VMs' auto-shutdown views for the API.
 */
export const autoShutdownArea = defineArea({
  name: 'autoShutdown',
  needs: ['vms', 'labs', 'webhooks', 'usage'],
  async build(
    ctx: Pick<Platform, 'config' | 'logger' | 'clock' | 'world' | 'kube' | 'tenantRepo' | 'metrics' | 'auditLog' | 'redis' | 'operationStore'> & {
      readonly vms: { readonly repo: VmRepository; readonly service: Pick<VmService, 'power'>; showAutoShutdown(views: AutoShutdownViews): void };
      readonly labs: { readonly repo: Pick<LabRepository, 'list' | 'get'> };
      readonly webhooks: { publishEvent(event: WebhookEvent): Promise<number> };
      /** The usage area's reader of students' usage (absent, in tests of this area alone: quotas are not enforced on running VMs). */
      readonly usage?: { readonly reader: StudentUsageReader };
      /** Tests: another session source or usage signal. */
      readonly guestSessions?: GuestSessionSource;
    },
  ) {
    const { config, world } = ctx;
    const log = ctx.logger.child({ component: 'auto-shutdown' });
    const clock = world.usageClock ?? ctx.clock;
    const sessions = ctx.guestSessions ?? createKubeGuestSessions({ client: ctx.kube });
    let usage: UsageMetrics | undefined;
    if (world.prometheus !== undefined) usage = await loadPrometheusUsage(world.prometheus, { clock });
    else log.info('no usage signal (PROMETHEUS_URL unset): lowUsage idle detection never stops a VM, consoles are not seen');
    let store: IdleStateStore;
    if (ctx.redis === undefined) store = createMemoryIdleStateStore({ clock });
    else {
      const { createRedisIdleStateStore } = await import('../adapters/redis/idle-state-store.js');
      store = createRedisIdleStateStore({ redis: ctx.redis, prefix: 'labplane' });
    }
    const detector = createIdleDetector({
      vmRepo: ctx.vms.repo,
      labs: ctx.labs.repo,
      tenants: ctx.tenantRepo,
      sessions,
      ...(usage === undefined ? {} : { usage }),
      ...(ctx.usage === undefined ? {} : { quotas: ctx.usage.reader }),
      lastStart: async (vm) => {
        const page = await ctx.operationStore.list(
          { tenant: vm.tenant, kind: VM_POWER_KINDS.start, target: { type: 'vm', id: vmTargetId(vm.tenant, vm.name) } },
          { limit: 1 },
        );
        const op = page.items[0];
        return op === undefined ? undefined : { createdBy: op.createdBy, createdAt: op.createdAt };
      },
      store,
      vms: ctx.vms.service,
      publish: (event) => ctx.webhooks.publishEvent(event),
      auditLog: ctx.auditLog,
      metrics: detectorMetrics(ctx.metrics),
      clock,
      logger: log,
      intervalMs: config.idleCheckIntervalMs,
    });

    const views: AutoShutdownViews = {
      async of(refs) {
        const watches = await store.getMany(refs);
        return Promise.all(
          refs.map(async (ref, i) => {
            const vm = await ctx.vms.repo.get(ref.tenant, ref.name);
            if (vm === undefined) return undefined;
            const lab = vm.lab === undefined ? undefined : await ctx.labs.repo.get(vm.tenant, vm.lab);
            const applied = costControlsOf(vm, lab, await ctx.tenantRepo.get(vm.tenant));
            return applied === undefined ? undefined : autoShutdownViewOf(watches[i], vm.instance?.uid, applied.controls);
          }),
        );
      },
    };
    ctx.vms.showAutoShutdown(views);

    return {
      exports: { tick: () => detector.tick(), store, views } satisfies AutoShutdownExports,
      leaderLoops: [detector],
      close: () => detector.stop(),
    };
  },
});
