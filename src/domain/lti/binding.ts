/**
 * A lab bound to an LMS course (an LTI context) by Deep Linking: launches from that context land on
 * the lab, and its roster follows the course's membership (NRPS).
 */
export interface LabLtiBinding {
  readonly registrationId: string;
  readonly deploymentId: string;
  /** `https://purl.imsglobal.org/spec/lti/claim/context` `id`. */
  readonly contextId: string;
  readonly contextTitle?: string;
  /** `context_memberships_url` of the NRPS claim of the launch that bound it; absent: no roster sync. */
  readonly membershipsUrl?: string;
  /** ISO 8601. */
  readonly boundAt: string;
}

/** Why an LMS member got no VM. */
export type UnresolvedReason = 'no-email' | 'not-in-directory' | 'ambiguous';

/** A course member who could not be matched to a directory user. */
export interface UnresolvedMember {
  /** The LMS's user id (`sub` / NRPS `user_id`). */
  readonly lmsUserId: string;
  readonly email?: string;
  readonly name?: string;
  readonly role: 'student' | 'instructor';
  readonly reason: UnresolvedReason;
}

/** The last roster sync from the LMS (kept in the lab's status). */
export interface LtiSyncStatus {
  /** ISO 8601, when the sync ended. */
  readonly at: string;
  readonly trigger: 'schedule' | 'launch' | 'manual';
  readonly outcome: 'succeeded' | 'failed';
  /** From the error catalogue, when it failed. */
  readonly code?: string;
  readonly message?: string;
  /** The operation that ran it. */
  readonly operationId?: string;
  readonly members?: number;
  readonly students?: number;
  readonly instructors?: number;
  readonly unresolved?: readonly UnresolvedMember[];
}
