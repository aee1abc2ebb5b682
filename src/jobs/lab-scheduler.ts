import { randomUUID } from 'node:crypto';
import type { LabRecord, LabScheduleAction, LabStoredStatus } from '../domain/labs/lab.js';
import type { LabRepository } from '../domain/labs/lab-repository.js';
import { dueEvent } from '../domain/labs/schedule.js';
import { isDomainError } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** A schedule event to bring a lab in line with. */
export interface DueScheduleAction {
  readonly action: LabScheduleAction;
  /** When it fell due (ISO 8601 UTC); with the lab's uid it identifies the event. */
  readonly dueAt: string;
}

/** Default age after which an unsettled claim of another scheduler is taken over: 2 minutes. */
export const DEFAULT_CLAIM_TIMEOUT_MS = 120_000;

export interface LabSchedulerDeps {
  readonly labs: Pick<LabRepository, 'list' | 'updateStatus'>;
  /**
   * Starts what an event asks (power on/off every VM, end, remove) and answers the operation.
   * Should be idempotent per (lab uid, action, dueAt): a claim whose worker died between `apply`
   * and recording its operation is applied again by another worker.
   */
  readonly apply: (lab: LabRecord, event: DueScheduleAction) => Promise<{ readonly operationId: string }>;
  readonly clock: Clock;
  /** Time between ticks in milliseconds (default 30 000). */
  readonly intervalMs?: number;
  /** Who this scheduler is in the claims it writes (default a random UUID); unique per process. */
  readonly claimant?: string;
  /**
   * Age (ms) after which a claim of another scheduler still without operationId is taken over and
   * applied again (default `DEFAULT_CLAIM_TIMEOUT_MS`); well above the time `apply` plus recording take.
   */
  readonly claimTimeoutMs?: number;
  readonly logger: Logger;
}

/**
 * Applies due schedule events to labs (level-triggered: only the latest due event of a lab).
 *
 * The state lives in the lab (`status.schedule`), so any number of schedulers may run (leader
 * election makes it one, but two overlap during a hand-over) and restarts neither repeat nor miss
 * an event: a scheduler claims an event by writing it with `claimedAt` and its `claimant` id (no
 * operationId) only if the stored one is older, then applies it, then records the operation. A
 * claim left without operationId is applied again: at once by its own claimant (its `apply`
 * failed), and by any other scheduler once the claim is older than `claimTimeoutMs` (its writer
 * died). Taking a claim over is a compare-and-set on the claim as read (same claimant and
 * `claimedAt`), so of several survivors exactly one wins and applies it. A claim written before
 * `claimedAt` existed counts from when this scheduler first saw it.
 */
export type LabScheduler = PeriodicLoop;

/** What this scheduler knows of a claim still without operationId. */
interface Unrecorded {
  readonly dueAt: string;
  /** When this scheduler first saw the claim unsettled (epoch ms): the age of a claim without `claimedAt`. */
  readonly seenAt: number;
  /** Applied, but recording the operation failed: record it, do not apply again. */
  readonly operationId?: string;
}

type StoredSchedule = NonNullable<LabStoredStatus['schedule']>;

/** Facts of an error that are safe to log: no request bodies, no lab contents. */
function errorFacts(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: typeof err };
  return { error: err.name, ...(isDomainError(err) ? { code: err.code } : {}), message: err.message.slice(0, 300) };
}

export function createLabScheduler(deps: LabSchedulerDeps): LabScheduler {
  const { labs, apply, clock, logger } = deps;
  const intervalMs = deps.intervalMs ?? 30_000;
  const claimTimeoutMs = deps.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
  const me = deps.claimant ?? randomUUID();
  const unrecorded = new Map<string, Unrecorded>();

  const claimOf = (event: DueScheduleAction, nowMs: number): StoredSchedule => ({
    action: event.action,
    dueAt: event.dueAt,
    claimedAt: new Date(nowMs).toISOString(),
    claimant: me,
  });

  /** Claims `event` when the stored event is older (a compare-and-set on the lab's status). */
  async function claim(lab: LabRecord, event: DueScheduleAction, nowMs: number): Promise<boolean> {
    const dueMs = Date.parse(event.dueAt);
    let claimed = false;
    await labs.updateStatus(lab.tenant, lab.name, (current) => {
      const held = current.schedule === undefined ? NaN : Date.parse(current.schedule.dueAt);
      claimed = !(held >= dueMs);
      return claimed ? { ...current, schedule: claimOf(event, nowMs) } : undefined;
    });
    return claimed;
  }

  /** Takes over the unsettled claim `seen` if it is still exactly what is stored (compare-and-set). */
  async function takeOver(lab: LabRecord, seen: StoredSchedule, nowMs: number): Promise<boolean> {
    let taken = false;
    await labs.updateStatus(lab.tenant, lab.name, (current) => {
      const s = current.schedule;
      taken =
        s !== undefined &&
        s.operationId === undefined &&
        s.dueAt === seen.dueAt &&
        s.action === seen.action &&
        s.claimedAt === seen.claimedAt &&
        s.claimant === seen.claimant;
      return taken ? { ...current, schedule: claimOf(seen, nowMs) } : undefined;
    });
    return taken;
  }

  async function record(lab: LabRecord, event: DueScheduleAction, operationId: string): Promise<void> {
    const same = (s: StoredSchedule | undefined) => s?.dueAt === event.dueAt && s.action === event.action && s.operationId === undefined;
    await labs.updateStatus(lab.tenant, lab.name, (current) =>
      same(current.schedule) ? { ...current, schedule: { action: event.action, dueAt: event.dueAt, operationId } } : undefined,
    );
    unrecorded.delete(lab.uid);
    logger.info({ tenant: lab.tenant, lab: lab.name, action: event.action, dueAt: event.dueAt, operationId }, 'lab schedule event applied');
  }

  async function applyAndRecord(lab: LabRecord, event: DueScheduleAction, nowMs: number): Promise<void> {
    let operationId: string;
    try {
      ({ operationId } = await apply(lab, { action: event.action, dueAt: event.dueAt }));
    } catch (err) {
      unrecorded.set(lab.uid, { dueAt: event.dueAt, seenAt: nowMs });
      throw err;
    }
    unrecorded.set(lab.uid, { dueAt: event.dueAt, seenAt: nowMs, operationId });
    await record(lab, event, operationId);
  }

  async function reconcile(lab: LabRecord, nowMs: number): Promise<void> {
    const stored = lab.status.schedule;
    const event = dueEvent(lab, new Date(nowMs), stored?.dueAt);
    if (event !== undefined) {
      if (await claim(lab, event, nowMs)) await applyAndRecord(lab, event, nowMs);
      return;
    }
    if (stored === undefined || stored.operationId !== undefined) {
      unrecorded.delete(lab.uid);
      return;
    }
    let known = unrecorded.get(lab.uid);
    if (known?.dueAt !== stored.dueAt) {
      known = { dueAt: stored.dueAt, seenAt: nowMs };
      unrecorded.set(lab.uid, known);
    }
    if (known.operationId !== undefined) {
      await record(lab, stored, known.operationId);
      return;
    }
    const claimedMs = stored.claimedAt === undefined ? known.seenAt : Date.parse(stored.claimedAt);
    const expired = !(nowMs - claimedMs < claimTimeoutMs);
    if (stored.claimant !== me && !expired) return;
    if (!(await takeOver(lab, stored, nowMs))) return;
    logger.warn(
      {
        tenant: lab.tenant,
        lab: lab.name,
        action: stored.action,
        dueAt: stored.dueAt,
        ...(stored.claimedAt === undefined ? {} : { claimedAt: stored.claimedAt }),
      },
      'applying an unrecorded schedule claim again',
    );
    await applyAndRecord(lab, stored, nowMs);
  }
  async function pass(): Promise<void> {
    const nowMs = clock.now().getTime();
    let all: readonly LabRecord[];
    try {
      all = await labs.list();
    } catch (err) {
      logger.warn(errorFacts(err), 'lab scheduler could not list labs');
      return;
    }
    const seen = new Set<string>();
    for (const lab of all) {
      if (lab.deleting) continue;
      seen.add(lab.uid);
      try {
        await reconcile(lab, nowMs);
      } catch (err) {
        if (isDomainError(err) && err.kind === 'not_found') continue;
        logger.error({ tenant: lab.tenant, lab: lab.name, ...errorFacts(err) }, 'lab schedule event failed; retrying next tick');
      }
    }
    for (const uid of unrecorded.keys()) if (!seen.has(uid)) unrecorded.delete(uid);
  }

  return createPeriodicLoop(pass, intervalMs);
}
