import type { Logger } from '../domain/shared/logger.js';
import { createPeriodicLoop, type PeriodicLoop } from './periodic-loop.js';

/** Between looks at the tool key's age, ms. */
export const LTI_KEY_CHECK_INTERVAL_MS = 60 * 60_000;

export interface LtiKeyRotationDeps {
  readonly keys: { rotateIfDue(maxAgeMs: number): Promise<boolean> };
  /** LTI_KEY_ROTATION_DAYS. */
  readonly rotationDays: number;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

/**
 * Rotates the tool's signing key once it is `rotationDays` old (the previous key stays published
 * through its grace). Meant to run on the leader; replicas racing anyway are kept apart by the
 * key Secret's version. Failures are logged and retried at the next pass.
 */
export function createLtiKeyRotation(deps: LtiKeyRotationDeps): PeriodicLoop {
  const maxAgeMs = deps.rotationDays * 24 * 3_600_000;
  return createPeriodicLoop(async () => {
    try {
      if (await deps.keys.rotateIfDue(maxAgeMs)) deps.logger.info({ rotationDays: deps.rotationDays }, 'rotated the LTI tool signing key');
    } catch (err) {
      deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not rotate the LTI tool signing key; retrying later');
    }
  }, deps.intervalMs ?? LTI_KEY_CHECK_INTERVAL_MS);
}
