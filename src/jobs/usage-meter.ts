import type { LabRepository } from '../domain/labs/lab-repository.js';
import { studentVmName } from '../domain/labs/lab-rules.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import type { UsageLedger, UsageVmRef } from '../domain/usage/ports.js';
import { runningSpans, type PowerTransition } from '../domain/usage/usage-meter.js';
import type { VmRepository } from '../domain/vms/vm-repository.js';
import type { VmRecord } from '../domain/vms/vm.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

export interface UsageMeterDeps {
  readonly vms: Pick<VmRepository, 'list' | 'watch'>;
  readonly labs: Pick<LabRepository, 'list' | 'watch'>;
  readonly ledger: UsageLedger;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Between passes, ms (USAGE_METER_INTERVAL_MS). */
  readonly intervalMs: number;
  /** Told of the running time each pass saw, per tenant (metrics); never called per student. */
  readonly onMetered?: (tenant: string, ms: number) => void;
  /** Runs after every pass (metrics of the figures); its failures are logged. */
  readonly afterPass?: () => Promise<void>;
}

/** A leader loop; `tick` runs one pass now (tests drive it with their clock). Never rejects. */
export type UsageMeter = PeriodicLoop;

const RUNNING = ':running';
const STOPPED = ':stopped';
const keyOf = (ref: UsageVmRef): string => `${ref.tenant}/${ref.name}`;

/** The run a VM's instance is, when it runs (a VMI still scheduling, or finished, does not). */
function runOf(vm: VmRecord | undefined): { readonly id: string; readonly startedAt: number } | undefined {
  if (vm?.instance === undefined || vm.instance.uid === '') return undefined;
  const phase = vm.observation.vmi?.phase ?? 'Running';
  if (phase !== 'Running') return undefined;
  const startedAt = Date.parse(vm.instance.startedAt);
  return { id: vm.instance.uid, startedAt: Number.isNaN(startedAt) ? 0 : startedAt };
}

/** The run the ledger shows open (last transition `running`): its id and since when. */
export function openRun(transitions: readonly PowerTransition[], now: number): { readonly id: string; readonly since: number } | undefined {
  const { openSince } = runningSpans(transitions, now);
  if (openSince === undefined) return undefined;
  const opening = transitions
    .filter((t) => t.state === 'running' && Date.parse(t.at) === openSince && t.id.endsWith(RUNNING))
    .map((t) => t.id)
    .sort()[0];
  return opening === undefined ? undefined : { id: opening.slice(0, -RUNNING.length), since: openSince };
}

/**
 * The usage meter: records every VM's runs in the ledger, once a pass (every `intervalMs`) and at
 * once when a VM changes (watch).
 *
 * For a VM whose instance runs: its run's start (`<instance uid>:running`, at the instance's
 * `startedAt`, never after now) and a checkpoint of the run now. For a VM whose ledger shows an open
 * run that it no longer runs: the run's end (`<uid>:stopped`), now when this meter saw the run alive
 * at its previous look (or was told of the change by watch), else at the run's last checkpoint: a
 * run whose end nobody saw is closed at the last instant it was seen running, so time nobody saw
 * never counts, and a meter killed mid-way loses at most one interval. Transition ids make every
 * write idempotent: a replayed pass, or two meters racing, count once.
 *
 * A deleted VM outside labs is forgotten; a lab's VMs keep their ledger (a reimaged student VM keeps
 * its usage) until the lab is deleted.
 */
export function createUsageMeter(deps: UsageMeterDeps): UsageMeter {
  const { ledger, clock, logger } = deps;
  /** Runs seen alive at the previous look (by a pass or a watch event), by VM key. */
  let alive = new Map<string, { run: string; at: number }>();
  /** VMs seen by the last pass, with their lab. */
  let known = new Map<string, { ref: UsageVmRef; lab?: string }>();
  const unsubscribers: Array<() => void> = [];
  let busy = false;
  let pending = false;
  let active = false;

  async function meterOne(ref: UsageVmRef, vm: VmRecord | undefined, now: number, next: Map<string, { run: string; at: number }>): Promise<void> {
    const key = keyOf(ref);
    const run = runOf(vm);
    const seen = alive.get(key);
    const open = openRun(await ledger.transitions(ref), now);
    if (open !== undefined && open.id !== run?.id) {
      const checkpoint = seen?.run === open.id ? undefined : await ledger.lastCheckpoint(ref, open.id);
      let at = seen?.run === open.id ? now : checkpoint === undefined ? open.since : Date.parse(checkpoint);
      // A run ended before the next one started.
      if (run !== undefined) at = Math.min(at, run.startedAt);
      at = Math.max(at, open.since);
      await ledger.record(ref, [{ id: `${open.id}${STOPPED}`, at: new Date(at).toISOString(), state: 'stopped' }]);
    }
    if (run === undefined) return;
    const startedAt = Math.min(run.startedAt, now);
    await ledger.record(ref, [{ id: `${run.id}${RUNNING}`, at: new Date(startedAt).toISOString(), state: 'running' }]);
    await ledger.checkpoint(ref, run.id, new Date(now).toISOString());
    next.set(key, { run: run.id, at: now });
    if (seen?.run === run.id && now > seen.at) deps.onMetered?.(ref.tenant, now - seen.at);
  }

  async function pass(): Promise<void> {
    busy = true;
    try {
      const now = clock.now().getTime();
      const [vms, labs] = await Promise.all([deps.vms.list(), deps.labs.list()]);
      const byKey = new Map(vms.map((vm) => [keyOf(vm), vm]));
      const refs = new Map<string, UsageVmRef>(vms.map((vm) => [keyOf(vm), { tenant: vm.tenant, name: vm.name }]));
      for (const [key, { ref }] of known) if (alive.has(key)) refs.set(key, ref);
      // A student's VM deleted while no meter ran may still have an open run to close.
      for (const lab of labs) {
        for (const s of lab.students) {
          const ref = { tenant: lab.tenant, name: studentVmName(lab.name, s.id) };
          refs.set(keyOf(ref), ref);
        }
      }
      const next = new Map<string, { run: string; at: number }>();
      for (const [key, ref] of refs) {
        try {
          await meterOne(ref, byKey.get(key), now, next);
        } catch (err) {
          logger.warn({ err, tenant: ref.tenant, vm: ref.name }, 'usage: metering a VM failed; the next pass tries again');
          const seen = alive.get(key);
          if (seen !== undefined) next.set(key, seen);
        }
      }
      for (const [key, { ref, lab }] of known) {
        if (byKey.has(key) || lab !== undefined) continue;
        await ledger
          .forget(ref)
          .catch((err: unknown) => logger.warn({ err, tenant: ref.tenant, vm: ref.name }, 'usage: forgetting a deleted VM failed'));
      }
      alive = next;
      known = new Map(vms.map((vm) => [keyOf(vm), { ref: { tenant: vm.tenant, name: vm.name }, ...(vm.lab === undefined ? {} : { lab: vm.lab }) }]));
      await deps.afterPass?.().catch((err: unknown) => logger.warn({ err }, 'usage: after-pass hook failed'));
    } catch (err) {
      logger.warn({ err }, 'usage: metering pass failed; the next one tries again');
    } finally {
      busy = false;
    }
  }

  const loop = createPeriodicLoop(pass, deps.intervalMs);

  /** A pass now, or right after the running one (changes during a pass are not lost). */
  function kick(): void {
    if (!active) return;
    if (busy) {
      pending = true;
      return;
    }
    void loop.tick().then(() => {
      if (!pending) return;
      pending = false;
      kick();
    });
  }

  async function forgetLab(tenant: string, lab: string, students: readonly { readonly id: string }[]): Promise<void> {
    const refs = new Map<string, UsageVmRef>();
    for (const s of students) refs.set(`${tenant}/${studentVmName(lab, s.id)}`, { tenant, name: studentVmName(lab, s.id) });
    for (const [key, k] of known) if (k.ref.tenant === tenant && k.lab === lab) refs.set(key, k.ref);
    for (const ref of refs.values()) await ledger.forget(ref);
  }

  return {
    start() {
      if (active) return;
      active = true;
      unsubscribers.push(
        deps.vms.watch((event) => {
          const key = `${event.tenant}/${event.name}`;
          const run = runOf(event.vm);
          // Only what changes the ledger: a run that started, or one that ended.
          if (run?.id !== alive.get(key)?.run) kick();
        }),
        deps.labs.watch((event) => {
          if (event.type !== 'deleted') return;
          void forgetLab(event.tenant, event.name, event.lab.students).catch((err: unknown) =>
            logger.warn({ err, tenant: event.tenant, lab: event.name }, 'usage: forgetting a deleted lab’s usage failed'),
          );
        }),
      );
      loop.start();
    },
    async stop() {
      active = false;
      for (const u of unsubscribers.splice(0)) u();
      await loop.stop();
    },
    tick: () => loop.tick(),
  };
}
