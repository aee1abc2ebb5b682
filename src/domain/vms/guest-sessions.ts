/** One user logged into a VM's guest operating system, as its guest agent reports it. */
export interface GuestSession {
  /** The user name in the guest (`student`, `Administrator`). */
  readonly user: string;
  /** The user's domain (Windows guests; absent on Linux). */
  readonly domain?: string;
  /** When the user logged in (ISO 8601); the earliest login when the user has several. */
  readonly loginAt: string;
}

/**
 * Why a VM's guest sessions cannot be known now. None of them says "nobody is logged in": a caller
 * must not read them as absence of users (an idle check must not stop a VM for lack of a signal).
 * - `vm-not-running`: the VM has no running instance (stopped, starting, stopping or gone);
 * - `guest-agent-not-connected`: the instance runs but its guest agent does not answer (not installed,
 *   not started yet, or hung);
 * - `not-served`: the cluster does not serve the guest user list (a KubeVirt without the subresource API).
 */
export type GuestSessionsUnavailableReason = 'vm-not-running' | 'guest-agent-not-connected' | 'not-served';

/** The users logged into a VM's guest right now, or why that is unknown. */
export type GuestSessions =
  | { readonly available: true; readonly sessions: readonly GuestSession[] }
  | { readonly available: false; readonly reason: GuestSessionsUnavailableReason };

/**
 * Where the users logged into a VM's guest come from: KubeVirt's `userlist` subresource of the VM's
 * instance, answered by the QEMU guest agent (`src/adapters/kubernetes/vm-guest.ts`). A read, never
 * cached: each call asks the guest. Expected states of the VM come back as `available: false`;
 * outages of the cluster throw UpstreamUnavailableError (retryable), refusals UpstreamRejectedError.
 */
export interface GuestSessionSource {
  guestSessions(tenant: string, vmName: string): Promise<GuestSessions>;
}
