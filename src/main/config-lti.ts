import { DEFAULT_LTI_KEY_ROTATION_DAYS } from '../domain/lti/tool-key-set.js';
import { int, read, type Env } from './config-read.js';

/** LTI 1.3 (labplane as a tool of LMS platforms). */
export interface LtiConfig {
  /** Age of the tool's signing key after which the leader rotates it, days (LTI_KEY_ROTATION_DAYS, default 90). */
  readonly keyRotationDays: number;
  /**
   * Accept http:// issuers and platform URLs in registrations: only with the simulated cluster
   * (an LMS on this machine). Not a setting.
   */
  readonly allowHttpPlatforms: boolean;
}

export function readLti(env: Env, simulated: boolean): LtiConfig {
  return {
    keyRotationDays: read(env, 'LTI_KEY_ROTATION_DAYS', int(1, 3650), 'whole days 1-3650') ?? DEFAULT_LTI_KEY_ROTATION_DAYS,
    allowHttpPlatforms: simulated,
  };
}
