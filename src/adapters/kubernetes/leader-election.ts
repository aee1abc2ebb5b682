import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { LeaderElector, LeadershipListener, LeaseLock, LeaseRecord, VersionedLease } from '../../domain/shared/leadership.js';
import { ConflictError } from '../../domain/shared/errors.js';
import type { Logger } from '../../domain/shared/logger.js';

/** client-go's defaults (`leaderelection.LeaderElectionConfig` as kube-controller-manager sets it). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;
/** client-go's `JitterFactor`: acquire attempts wait retryPeriod × [1, 2.2). */
const JITTER_FACTOR = 1.2;

export interface LeaderElectionOptions {
  readonly lock: LeaseLock;
  readonly identity: string;
  /** How long others wait, from when they last saw the lease change, before taking it over (default 15 s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps failing to renew before it steps down (default 10 s). */
  readonly renewDeadlineMs?: number;
  /** Between attempts to acquire or renew (default 2 s). */
  readonly retryPeriodMs?: number;
  readonly clock?: Clock;
  /** [0, 1) source of the acquire jitter; Math.random by default. */
  readonly random?: () => number;
  readonly logger: Logger;
}

/** Throws TypeError unless leaseDuration > renewDeadline > JitterFactor × retryPeriod > 0 (client-go's checks). */
export function checkLeaderTimings(leaseDurationMs: number, renewDeadlineMs: number, retryPeriodMs: number): void {
  if (!(retryPeriodMs > 0)) throw new TypeError('the retry period must be greater than zero');
  if (!(leaseDurationMs > renewDeadlineMs)) throw new TypeError('the lease duration must be greater than the renew deadline');
  if (!(renewDeadlineMs > JITTER_FACTOR * retryPeriodMs))
    throw new TypeError(`the renew deadline must be greater than ${JITTER_FACTOR} × the retry period`);
}

/** Losing a race for the lease is normal, not worth a log line. */
const isConflict = (err: unknown): boolean => err instanceof ConflictError;

const sameRecord = (a: LeaseRecord, b: LeaseRecord): boolean =>
  a.holderIdentity === b.holderIdentity &&
  a.leaseDurationSeconds === b.leaseDurationSeconds &&
  a.leaseTransitions === b.leaseTransitions &&
  a.acquireTime?.getTime() === b.acquireTime?.getTime() &&
  a.renewTime?.getTime() === b.renewTime?.getTime();

/**
 * Leader election over a lease, with the semantics of client-go's `tools/leaderelection`
 * (@kubernetes/client-node 2.0.1 ships none): a free or expired lease is taken with its
 * resourceVersion, counting one more transition; the leader renews every retry period and steps down
 * when it has not renewed for the renew deadline. Expiry is timed by the LOCAL clock from when this
 * process saw the record change, never from the remote renewTime, so clock skew between replicas
 * cannot make two leaders. `stop` releases the lease (empty holder) so another replica takes over at
 * once.
 */
export function createLeaderElector(options: LeaderElectionOptions): LeaderElector {
  const { lock, identity, logger } = options;
  const leaseMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
  const renewMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
  const retryMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
  checkLeaderTimings(leaseMs, renewMs, retryMs);
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const listeners = new Set<LeadershipListener>();
  const facts = { identity, lease: lock.description };

  let observed: VersionedLease | undefined;
  /** Local instant (ms) at which `observed` was first seen with its current content. */
  let observedAt = 0;
  let leading = false;
  let lastRenewAt = 0;
  let campaigning = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  let cycle: Promise<void> | undefined;

  function observe(lease: VersionedLease, nowMs: number): void {
    if (observed === undefined || !sameRecord(observed.record, lease.record)) observedAt = nowMs;
    observed = lease;
  }

  /** The last failure logged by `warnOnce`, so an unreachable API server is one line, not one per retry. */
  let lastFailure: string | undefined;
  function warn(err: unknown, what: string): void {
    logger.warn({ ...facts, err: err instanceof Error ? { name: err.name, message: err.message } : String(err) }, what);
  }
  function warnOnce(err: unknown, what: string): void {
    const key = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    if (key === lastFailure) return;
    lastFailure = key;
    warn(err, what);
  }

  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = clock.now();
    const nowMs = now.getTime();
    const desired: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    // Fast path of client-go: the leader renews with the version it wrote last, without reading first.
    if (leading && observed !== undefined && observed.record.holderIdentity === identity) {
      const renewal = { ...desired, acquireTime: observed.record.acquireTime ?? now, leaseTransitions: observed.record.leaseTransitions };
      try {
        observe(await lock.update(renewal, observed.version), nowMs);
        return true;
      } catch {
        // Fall back to reading the lease, as client-go does.
      }
    }
    let current: VersionedLease | undefined;
    try {
      current = await lock.get();
      if (current === undefined) {
        observe(await lock.create(desired), nowMs);
        return true;
      }
    } catch (err) {
      if (!isConflict(err)) warnOnce(err, 'could not read or create the leader lease');
      return false;
    }
    observe(current, nowMs);
    const held = current.record.holderIdentity;
    if (held !== '' && held !== identity && observedAt + current.record.leaseDurationSeconds * 1000 > nowMs) return false;
    const next: LeaseRecord =
      held === identity
        ? { ...desired, acquireTime: current.record.acquireTime ?? now, leaseTransitions: current.record.leaseTransitions }
        : { ...desired, leaseTransitions: current.record.leaseTransitions + 1 };
    try {
      observe(await lock.update(next, current.version), nowMs);
      return true;
    } catch (err) {
      if (leading || !isConflict(err)) warnOnce(err, leading ? 'could not renew the leader lease' : 'could not take over the leader lease');
      return false;
    }
  }

  /** Notifications run one after the other: loops finish stopping before they are started again. */
  let transitions: Promise<void> = Promise.resolve();
  function notify(value: boolean): Promise<void> {
    transitions = transitions.then(async () => {
      for (const l of [...listeners]) {
        try {
          await l(value);
        } catch (err) {
          warn(err, 'a leadership listener failed');
        }
      }
    });
    return transitions;
  }

  async function stepDown(reason: string | undefined): Promise<void> {
    if (!leading) return;
    leading = false;
    if (watchdog !== undefined) clearTimeout(watchdog);
    watchdog = undefined;
    if (reason === undefined) logger.info(facts, 'stepping down: stopping the schedule, housekeeping and recovery loops');
    else logger.warn({ ...facts, reason }, 'lost leadership: stopping the schedule, housekeeping and recovery loops');
    await notify(false);
  }

  function armWatchdog(): void {
    if (watchdog !== undefined) clearTimeout(watchdog);
    // Also covers a renewal hanging past the deadline, which a check after each attempt would miss.
    watchdog = setTimeout(
      () => {
        watchdog = undefined;
        void stepDown(`no renewal for ${renewMs} ms (renew deadline)`);
      },
      Math.max(0, lastRenewAt + renewMs - clock.now().getTime()),
    );
    watchdog.unref?.();
  }

  async function attempt(): Promise<void> {
    const ok = await tryAcquireOrRenew();
    if (!campaigning) return;
    const nowMs = clock.now().getTime();
    if (ok) {
      lastFailure = undefined;
      lastRenewAt = nowMs;
      armWatchdog();
      if (!leading) {
        leading = true;
        logger.info(
          { ...facts, leaseTransitions: observed?.record.leaseTransitions },
          'became the leader: running the schedule, housekeeping and recovery loops',
        );
        await notify(true);
      }
    } else if (leading && nowMs - lastRenewAt >= renewMs) {
      await stepDown(`no renewal for ${renewMs} ms (renew deadline)`);
    }
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      timer = undefined;
      cycle = attempt().finally(() => {
        cycle = undefined;
        if (campaigning) schedule(leading ? retryMs : retryMs * (1 + random() * JITTER_FACTOR));
      });
    }, delayMs);
    timer.unref?.();
  }

  async function release(): Promise<void> {
    if (observed === undefined || observed.record.holderIdentity !== identity) return;
    const now = clock.now();
    // client-go's release: an empty holder with a one-second duration, transitions unchanged.
    const released: LeaseRecord = {
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: now,
      renewTime: now,
      leaseTransitions: observed.record.leaseTransitions,
    };
    try {
      observe(await lock.update(released, observed.version), now.getTime());
      logger.info(facts, 'released the leader lease');
    } catch (err) {
      warn(err, 'could not release the leader lease; another replica takes over when it expires');
    }
  }

  return {
    identity,
    isLeader: () => leading,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (campaigning) return;
      campaigning = true;
      schedule(0);
    },
    async stop() {
      if (!campaigning) return;
      campaigning = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await cycle;
      const wasLeading = leading;
      await stepDown(undefined);
      if (wasLeading) await release();
    },
  };
}
