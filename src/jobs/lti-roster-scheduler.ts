import type { LabRepository } from '../domain/labs/lab-repository.js';
import type { LabRecord } from '../domain/labs/lab.js';
import { isDomainError } from '../domain/shared/errors.js';
import type { Clock } from '../domain/shared/ids.js';
import type { Logger } from '../domain/shared/logger.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** Default age of a lab's last LMS roster sync after which it is synced again: 24 hours. */
export const DEFAULT_LTI_ROSTER_SYNC_HOURS = 24;

export interface LtiRosterSchedulerDeps {
  readonly labs: Pick<LabRepository, 'list'>;
  /** Starts a `schedule` sync of the lab (answers the running one if there is one). */
  readonly start: (lab: LabRecord) => Promise<{ readonly operationId: string }>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Age (hours) of the last sync after which a lab is synced again (default 24). */
  readonly everyHours?: number;
  /** Between passes, ms (default 60 000). */
  readonly intervalMs?: number;
  /** Syncs started per pass at most (default 5): due labs are spread over passes, not started at once. */
  readonly perPass?: number;
}

/**
 * Syncs the roster of every lab bound to an LMS course (with an NRPS service) from the course,
 * `everyHours` after its last sync ended (`status.ltiSync.at`) or at once when it never was. At most
 * `perPass` syncs start per pass, the longest-waiting first, so a thousand bound labs coming due
 * together (a restore, a first start) are spread over passes. The state is the labs' status: a
 * restart resyncs nothing that is not due. A lab whose start failed is tried again on a later pass,
 * one interval at the earliest; one whose sync runs is asked again no sooner than `everyHours` /4
 * (its status changes when it ends).
 */
export function createLtiRosterScheduler(deps: LtiRosterSchedulerDeps): PeriodicLoop {
  const everyMs = (deps.everyHours ?? DEFAULT_LTI_ROSTER_SYNC_HOURS) * 3_600_000;
  const intervalMs = deps.intervalMs ?? 60_000;
  const perPass = Math.max(1, deps.perPass ?? 5);
  /** Lab key → when this scheduler last started (or tried to start) its sync (epoch ms). */
  const asked = new Map<string, number>();

  const keyOf = (lab: LabRecord) => `${lab.tenant}/${lab.name}`;
  const lastAt = (lab: LabRecord): number => {
    const at = lab.status.ltiSync?.at;
    const ms = at === undefined ? Number.NaN : Date.parse(at);
    return Number.isNaN(ms) ? 0 : ms;
  };

  async function pass(): Promise<void> {
    const now = deps.clock.now().getTime();
    let labs: readonly LabRecord[];
    try {
      labs = await deps.labs.list();
    } catch (err) {
      deps.logger.warn({ error: err instanceof Error ? err.message.slice(0, 300) : typeof err }, 'LMS roster sync could not list labs');
      return;
    }
    const live = new Set<string>();
    const due = labs
      .filter((lab) => {
        live.add(keyOf(lab));
        if (lab.lti?.membershipsUrl === undefined || lab.deleting || lab.status.deletionRequestedAt !== undefined) return false;
        const last = lastAt(lab);
        const askedAt = asked.get(keyOf(lab));
        // Asked since its last sync ended: wait for it (a quarter period), so one slow sync is not started over and over.
        if (askedAt !== undefined && askedAt > last && now - askedAt < Math.max(intervalMs, everyMs / 4)) return false;
        return now - last >= everyMs;
      })
      .sort((a, b) => lastAt(a) - lastAt(b) || (keyOf(a) < keyOf(b) ? -1 : 1));
    for (const lab of due.slice(0, perPass)) {
      asked.set(keyOf(lab), now);
      try {
        const { operationId } = await deps.start(lab);
        deps.logger.info({ tenant: lab.tenant, lab: lab.name, operationId }, 'LMS roster sync started (schedule)');
      } catch (err) {
        deps.logger.warn(
          {
            tenant: lab.tenant,
            lab: lab.name,
            ...(isDomainError(err) ? { code: err.code } : {}),
            error: err instanceof Error ? err.message.slice(0, 300) : typeof err,
          },
          'could not start the LMS roster sync of a lab; trying again next pass',
        );
        // Retried after one interval rather than a quarter period.
        asked.set(keyOf(lab), now - Math.max(intervalMs, everyMs / 4) + intervalMs);
      }
    }
    for (const key of asked.keys()) if (!live.has(key)) asked.delete(key);
  }

  return createPeriodicLoop(pass, intervalMs);
}
