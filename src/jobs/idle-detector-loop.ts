import { makePrincipal } from '../domain/auth/principal.js';
import type { AuditLog } from '../domain/audit/audit.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import type { LabRecord } from '../domain/labs/lab.js';
import type { JsonObject, Operation } from '../domain/operations/operation.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import type { Tenant } from '../domain/tenants/tenant.js';
import type { AutoShutdownReason } from '../domain/usage/auto-shutdown.js';
import { detectIdle, type IdleDecision, type SessionSignal } from '../domain/usage/idle-detector.js';
import type { IdleStateStore, QuotaShutdownReason, QuotaWatch, VmWatch } from '../domain/usage/idle-state-store.js';
import type { StudentUsageReader, UsageMetrics, UsageVmRef, VmUsageReading } from '../domain/usage/ports.js';
import {
  costControlsOf,
  inClassHours,
  inExemptClassHours,
  quotaAppliesToRun,
  quotaNear,
  quotaStep,
  warningPeriodMs,
  watchesIdle,
  type AppliedCostControls,
  type QuotaAction,
} from '../domain/usage/vm-cost-controls.js';
import type { GuestSessionSource } from '../domain/vms/guest-sessions.js';
import type { VmRecord } from '../domain/vms/vm.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import { deriveVmState } from '../domain/vms/vm-state.js';
import type { VmService } from '../domain/vms/vm-service.js';
import type { WebhookEvent } from '../domain/webhooks/events.js';
import type { WebhookEventType } from '../domain/webhooks/webhook.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** The platform stopping a VM for lack of use or for its quota (operations, audit: `createdBy`, actor). */
export const AUTO_SHUTDOWN_PRINCIPAL = makePrincipal({ id: 'system:auto-shutdown', name: 'auto-shutdown', kind: 'service', platformAdmin: true });

/** Why the detector stops a VM. */
export type ShutdownReason = AutoShutdownReason | QuotaShutdownReason;

/** The window the usage signal is averaged over: KubeVirt's metrics are scraped every 30-60 s. */
export const USAGE_WINDOW_SECONDS = 300;
/** Guest agents asked at once (each `userlist` is a round trip through virt-handler to the guest). */
export const SESSION_CONCURRENCY = 8;

/** What the detector counts (on /metrics in main). Labels are bounded: reasons and kinds are fixed sets. */
export interface IdleDetectorMetrics {
  autoShutdown(reason: ShutdownReason): void;
  warning(kind: 'idle' | 'quota'): void;
  /** VMs watched in the last pass whose signals were unavailable (no guest agent, no usage figures). */
  signalsUnavailable(count: number): void;
}

export interface IdleDetectorDeps {
  readonly vmRepo: Pick<VmRepository, 'list'>;
  readonly labs: Pick<LabRepository, 'list'>;
  readonly tenants: { get(id: string): Promise<Pick<Tenant, 'costControls'> | undefined> };
  readonly sessions: GuestSessionSource;
  /** The usage signal; absent (not configured): every reading is 'unavailable'. */
  readonly usage?: UsageMetrics;
  /** A lab student's usage against the quota; absent: quotas are not enforced on running VMs. */
  readonly quotas?: StudentUsageReader;
  /**
   * The latest start operation of a VM (`vm.start`): who asked and when. A run someone other than the
   * student started is not stopped for the student's quota. Absent: every run is.
   */
  readonly lastStart?: (vm: VmRecord) => Promise<{ readonly createdBy: string; readonly createdAt: string } | undefined>;
  readonly store: IdleStateStore;
  readonly vms: Pick<VmService, 'power'>;
  /** Sends an event to the tenant's subscribed webhooks (`WebhookDispatcher.publishEvent`). */
  readonly publish: (event: WebhookEvent) => Promise<unknown>;
  readonly auditLog?: Pick<AuditLog, 'append'>;
  readonly metrics?: IdleDetectorMetrics;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between passes, ms (IDLE_CHECK_INTERVAL_MS, default 60 000). */
  readonly intervalMs?: number;
}

/** A running VM with cost controls, as one pass sees it. */
interface Watched {
  readonly vm: VmRecord;
  readonly ref: UsageVmRef;
  readonly runId: string;
  readonly applied: AppliedCostControls;
  readonly idle: boolean;
}

/** Maps `items` with at most `limit` calls of `fn` at once; results in the order of `items`. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

const ref = (vm: VmRecord): UsageVmRef => ({ tenant: vm.tenant, name: vm.name });
const key = (r: UsageVmRef): string => `${r.tenant}/${r.name}`;

/**
 * The idle detector and quota enforcement of running VMs, a leader loop (one in the deployment). Each
 * pass looks at every running VM that has cost controls (a lab student's VM: its lab's; any other VM:
 * its tenant's; none: not looked at):
 * - reads who is logged into the guest (KubeVirt's `userlist`, at most {@link SESSION_CONCURRENCY} at
 *   once) and, in one batch for all of them, how busy each VM was (the usage signal, when configured);
 * - runs `detectIdle` with the previous state from the store (exempt during the lab's class hours when
 *   the lab says so) and stores the next state;
 * - acts: `warn` sends `vm.idle-warning`; `stop` starts the usual `vm.stop` as {@link AUTO_SHUTDOWN_PRINCIPAL}
 *   with the reason in its input (and result), audits it and sends `vm.auto-shutdown`;
 * - for a lab student's VM whose lab sets a quota: warns (`vm.quota-warning`) once the quota runs out
 *   within the warning period, and stops it (`UsageQuota:Exhausted`) once it has run out and the
 *   warning period has passed.
 * Event ids are deterministic (`<tenant>.<vm>.<run>.idle-warning.<warnedAt>`), so a pass run again never
 * sends a warning twice. A failure with one VM is logged and the pass goes on with the others; a VM whose
 * guest agent does not answer has signals `unavailable` and is never stopped for it.
 */
export function createIdleDetector(deps: IdleDetectorDeps): PeriodicLoop {
  const { clock, logger, store } = deps;

  async function publish(type: WebhookEventType, id: string, tenant: string, occurredAt: string, data: JsonObject): Promise<void> {
    await deps.publish({ id, type, tenant, occurredAt, data });
  }

  /** Who is watched this pass: running VMs (a live instance) with cost controls. */
  async function watchedVms(): Promise<Watched[]> {
    const [vms, labs] = await Promise.all([deps.vmRepo.list(), deps.labs.list()]);
    const labByKey = new Map<string, LabRecord>(labs.map((l) => [`${l.tenant}/${l.name}`, l]));
    const tenants = new Map<string, Promise<Pick<Tenant, 'costControls'> | undefined>>();
    const tenantOf = (id: string) => {
      let t = tenants.get(id);
      if (t === undefined) {
        t = deps.tenants.get(id).catch((err: unknown) => {
          logger.warn({ err, tenant: id }, 'auto-shutdown: could not read the tenant; its VMs are skipped this pass');
          return undefined;
        });
        tenants.set(id, t);
      }
      return t;
    };
    const out: Watched[] = [];
    for (const vm of vms) {
      if (vm.deleting || vm.instance === undefined || vm.instance.uid === '' || deriveVmState(vm.observation).state !== 'Running') continue;
      const lab = vm.lab === undefined ? undefined : labByKey.get(`${vm.tenant}/${vm.lab}`);
      const applied = costControlsOf(vm, lab, await tenantOf(vm.tenant));
      if (applied === undefined) continue;
      out.push({ vm, ref: ref(vm), runId: vm.instance.uid, applied, idle: watchesIdle(applied.controls) });
    }
    return out;
  }

  async function sessionsOf(w: Watched): Promise<SessionSignal> {
    try {
      const s = await deps.sessions.guestSessions(w.vm.tenant, w.vm.name);
      return s.available ? { available: true, sessions: s.sessions.map((x) => ({ user: x.user, loginAt: x.loginAt })) } : { available: false };
    } catch (err) {
      logger.warn({ err, tenant: w.vm.tenant, vm: w.vm.name }, 'auto-shutdown: could not read the guest sessions; signals unavailable this pass');
      return { available: false };
    }
  }

  async function usageOf(watched: readonly Watched[]): Promise<Map<string, VmUsageReading>> {
    const out = new Map<string, VmUsageReading>();
    if (deps.usage === undefined || watched.length === 0) return out;
    try {
      for (const r of await deps.usage.usage(
        watched.map((w) => w.ref),
        USAGE_WINDOW_SECONDS,
      ))
        out.set(key(r.vm), r.usage);
    } catch (err) {
      logger.warn({ err, vms: watched.length }, 'auto-shutdown: could not read the usage signal; usage unavailable this pass');
    }
    return out;
  }

  /** Starts the stop of a VM, audits it and announces it; resolves the operation. */
  async function stop(w: Watched, reason: ShutdownReason, warnedAt: string | undefined, stopAt: string | undefined): Promise<Operation> {
    const { vm } = w;
    const op = await deps.vms.power(AUTO_SHUTDOWN_PRINCIPAL, vm.tenant, vm.name, 'stop', { reason });
    deps.metrics?.autoShutdown(reason);
    logger.info({ tenant: vm.tenant, vm: vm.name, reason, operationId: op.id }, 'auto-shutdown: stopping a VM');
    await deps.auditLog
      ?.append({
        at: clock.now().toISOString(),
        actor: { id: AUTO_SHUTDOWN_PRINCIPAL.id, kind: 'service', name: AUTO_SHUTDOWN_PRINCIPAL.name },
        action: 'vm.auto-shutdown',
        method: 'JOB',
        path: `/v1/tenants/${vm.tenant}/vms/${vm.name}/stop`,
        tenant: vm.tenant,
        target: { type: 'vm', id: vm.name },
        result: { status: 202 },
        requestId: op.id,
        reason,
      })
      .catch((err: unknown) => logger.error({ err, tenant: vm.tenant, vm: vm.name, operationId: op.id }, 'audit event not stored'));
    // The stop is started: an announcement that cannot be queued now is logged, not retried by stopping again.
    await publish('vm.auto-shutdown', `${op.id}.vm.auto-shutdown`, vm.tenant, op.createdAt, {
      ...eventData(w, reason, warnedAt, stopAt),
      operationId: op.id,
    }).catch((err: unknown) =>
      logger.warn({ err, tenant: vm.tenant, vm: vm.name, operationId: op.id }, 'auto-shutdown: vm.auto-shutdown not queued'),
    );
    return op;
  }

  function eventData(w: Watched, reason: ShutdownReason, warnedAt: string | undefined, stopAt: string | undefined): JsonObject {
    return {
      tenant: w.vm.tenant,
      vm: w.vm.name,
      ...(w.applied.scope === 'lab' ? { lab: w.applied.lab.name } : {}),
      ownerId: w.vm.ownerId,
      reason,
      ...(warnedAt === undefined ? {} : { warnedAt }),
      ...(stopAt === undefined ? {} : { stopAt }),
    };
  }

  /** One VM: the idle step, the quota step, their actions; resolves the record to store. */
  async function watchOne(w: Watched, previous: VmWatch | undefined, sessions: SessionSignal, usage: VmUsageReading, now: Date): Promise<VmWatch> {
    const { vm, applied } = w;
    const same = previous !== undefined && previous.runId === w.runId;
    // A new run counts from its instance's start as the cluster reports it, never later than now.
    const started = Date.parse(vm.instance?.startedAt ?? '');
    const runStartedAt = same
      ? previous.runStartedAt
      : new Date(Number.isNaN(started) ? now.getTime() : Math.min(started, now.getTime())).toISOString();
    const periodMs = warningPeriodMs(applied.controls);
    let stopped = false;

    let idle: IdleDecision | undefined;
    if (w.idle) {
      idle = detectIdle({
        previous: same ? previous.idle : undefined,
        profile: applied.controls.autoShutdown,
        now,
        power: { state: 'running', startedAt: runStartedAt },
        sessions,
        usage,
        exempt: inExemptClassHours(applied, now),
        warningPeriod: applied.controls.warningPeriod,
      });
      const warnedAt = idle.state.warnedAt;
      const stopAt = warnedAt === undefined ? undefined : new Date(Date.parse(warnedAt) + periodMs).toISOString();
      if (idle.action === 'warn' && idle.reason !== undefined && warnedAt !== undefined) {
        await publish(
          'vm.idle-warning',
          `${vm.tenant}.${vm.name}.${w.runId}.idle-warning.${warnedAt}`,
          vm.tenant,
          warnedAt,
          eventData(w, idle.reason, warnedAt, stopAt),
        );
        deps.metrics?.warning('idle');
        logger.info({ tenant: vm.tenant, vm: vm.name, reason: idle.reason, stopAt }, 'auto-shutdown: warned a VM');
      } else if (idle.action === 'stop' && idle.reason !== undefined) {
        await stop(w, idle.reason, warnedAt, stopAt);
        stopped = true;
      }
    }

    let quota: QuotaWatch | undefined;
    const quotaHours = applied.scope === 'lab' ? applied.controls.usageQuotaHours : undefined;
    // Class hours never count against the quota: it stops nothing then. A run an owner, instructor
    // or admin started (they may start an exhausted student's VM) is theirs, not the student's.
    if (quotaHours !== undefined && deps.quotas !== undefined && !inClassHours(applied, now)) {
      const usage = await deps.quotas.usageOfVm(vm.tenant, vm.name);
      // Who started the run is asked (an operation read) only of a VM whose quota is about to act.
      const applies =
        usage !== undefined && (!quotaNear(usage.report, now, periodMs) || quotaAppliesToRun(vm.ownerId, runStartedAt, await deps.lastStart?.(vm)));
      if (usage !== undefined && applies) {
        const step: { watch: QuotaWatch; action: QuotaAction } = quotaStep(same ? previous.quota : undefined, usage.report, now, periodMs);
        quota = step.watch;
        const reason: QuotaShutdownReason = 'UsageQuota:Exhausted';
        if (step.action === 'warn' && quota.warnedAt !== undefined) {
          await publish('vm.quota-warning', `${vm.tenant}.${vm.name}.${w.runId}.quota-warning.${quota.warnedAt}`, vm.tenant, quota.warnedAt, {
            ...eventData(w, reason, quota.warnedAt, quota.stopAt),
            usedHours: usage.report.usedHours,
            leftHours: usage.report.leftHours,
          });
          deps.metrics?.warning('quota');
          logger.info({ tenant: vm.tenant, vm: vm.name, stopAt: quota.stopAt }, 'auto-shutdown: warned a VM of its quota');
        } else if (step.action === 'stop' && !stopped) {
          await stop(w, reason, quota.warnedAt, quota.stopAt);
        }
      }
    }

    return {
      runId: w.runId,
      runStartedAt,
      ...(idle === undefined ? {} : { idle: idle.state }),
      ...(quota === undefined ? {} : { quota }),
      updatedAt: now.toISOString(),
    };
  }

  async function pass(): Promise<void> {
    try {
      const now = clock.now();
      const watched = await watchedVms();
      const idleOnes = watched.filter((w) => w.idle);
      const [previous, sessions, usage] = await Promise.all([
        store.getMany(watched.map((w) => w.ref)),
        mapBounded(idleOnes, SESSION_CONCURRENCY, sessionsOf),
        usageOf(idleOnes),
      ]);
      const sessionsByVm = new Map(idleOnes.map((w, i) => [key(w.ref), sessions[i] as SessionSignal]));
      let unavailable = 0;
      for (const [i, w] of watched.entries()) {
        try {
          const next = await watchOne(
            w,
            previous[i],
            sessionsByVm.get(key(w.ref)) ?? { available: false },
            usage.get(key(w.ref)) ?? 'unavailable',
            now,
          );
          if (next.idle?.signals === 'unavailable') unavailable += 1;
          await store.put(w.ref, next);
        } catch (err) {
          logger.warn({ err, tenant: w.vm.tenant, vm: w.vm.name }, 'auto-shutdown: a VM could not be checked; the others go on');
        }
      }
      deps.metrics?.signalsUnavailable(unavailable);
    } catch (err) {
      logger.error({ err }, 'auto-shutdown: the pass failed');
    }
  }

  return createPeriodicLoop(pass, deps.intervalMs ?? 60_000);
}
