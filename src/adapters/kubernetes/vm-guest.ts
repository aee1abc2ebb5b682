import { ApiException } from '@kubernetes/client-node';
import type { GuestSession, GuestSessions, GuestSessionSource, GuestSessionsUnavailableReason } from '../../domain/vms/guest-sessions.js';
import { UpstreamUnavailableError } from '../../domain/shared/errors.js';
import { statusOf } from './errors.js';
import type { KubeClient } from './kube-client.js';
import { getVmiSubresource } from './vm-subresources.js';

export interface KubeGuestSessionsDeps {
  /** The one client of the composition root (budget, timeout, error translation). */
  readonly client: KubeClient;
}

/**
 * virt-api's refusals of a guest-agent subresource, matched on their text. virt-api answers them
 * with 500 Internal Server Error and the error text as a plain body (go-restful `WriteError`), the
 * same status as a real failure, so the text is all that tells them apart:
 * - `virtualmachineinstance.kubevirt.io "x" not found`
 * - `Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "x": VMI is not running`
 * - `Operation cannot be fulfilled on ... "x": VMI does not have guest agent connected`
 * A JSON Status carrying the same message (404 or 409) is read alike.
 */
const VMI_TARGET = String.raw`virtualmachineinstances?\.kubevirt\.io "[^"]*"`;
const REFUSALS: ReadonlyArray<{ pattern: RegExp; reason: GuestSessionsUnavailableReason }> = [
  {
    pattern: new RegExp(`^Operation cannot be fulfilled on ${VMI_TARGET}: VMI does not have guest agent connected$`),
    reason: 'guest-agent-not-connected',
  },
  { pattern: new RegExp(`^Operation cannot be fulfilled on ${VMI_TARGET}: VMI is not running$`), reason: 'vm-not-running' },
  { pattern: new RegExp(`^${VMI_TARGET} not found$`), reason: 'vm-not-running' },
];

/** Why virt-api refused, when the answer is one of its expected refusals; undefined for anything else. */
export function refusalOf(err: unknown): GuestSessionsUnavailableReason | undefined {
  if (!(err instanceof ApiException)) return undefined;
  const code = (err as ApiException<unknown>).code;
  const body: unknown = (err as ApiException<unknown>).body;
  const status = statusOf(err as ApiException<unknown>);
  if (code === 404) return status.targeted ? 'vm-not-running' : 'not-served';
  if (code !== 500 && code !== 409) return undefined;
  const text = (status.message !== '' ? status.message : typeof body === 'string' ? body : '').trim();
  return REFUSALS.find((r) => r.pattern.test(text))?.reason;
}

function sessionsOf(raw: unknown, what: string): GuestSession[] {
  const items = typeof raw === 'object' && raw !== null ? (raw as { items?: unknown }).items : undefined;
  if (items !== undefined && items !== null && !Array.isArray(items)) {
    throw new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `The guest user list is malformed (${what}).`);
  }
  return (items ?? []).flatMap((item: unknown): GuestSession[] => {
    const u = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    if (typeof u.userName !== 'string' || u.userName === '') return [];
    const seconds = typeof u.loginTime === 'number' && Number.isFinite(u.loginTime) ? u.loginTime : undefined;
    return [
      {
        user: u.userName,
        ...(typeof u.domain === 'string' && u.domain !== '' ? { domain: u.domain } : {}),
        // A guest agent that gives no login time leaves the epoch, which an idle check reads as "long ago".
        loginAt: new Date(Math.round((seconds ?? 0) * 1000)).toISOString(),
      },
    ];
  });
}

/**
 * The users logged into a VM's guest, from KubeVirt's `userlist` subresource of its VMI (same
 * namespace and name as the VM): `GET /apis/subresources.kubevirt.io/v1/namespaces/{tenant}/
 * virtualmachineinstances/{vm}/userlist`. Needs RBAC `get` on `virtualmachineinstances/userlist` in
 * `subresources.kubevirt.io`. Not cached: every call reaches the guest agent through virt-handler.
 */
export function createKubeGuestSessions(deps: KubeGuestSessionsDeps): GuestSessionSource {
  const { client } = deps;
  return {
    async guestSessions(tenant, vmName) {
      const what = `get userlist of VirtualMachineInstance ${tenant}/${vmName}`;
      const answer = await client.request(
        { what, write: false, resource: 'vm', name: vmName },
        async (): Promise<{ list: unknown } | { refused: GuestSessionsUnavailableReason }> => {
          try {
            return { list: await getVmiSubresource(client, tenant, vmName, 'userlist', client.timeoutMs) };
          } catch (err) {
            if (err instanceof SyntaxError) {
              throw new UpstreamUnavailableError('KUBERNETES_UNAVAILABLE', `The guest user list is not JSON (${what}).`, { cause: err });
            }
            const refused = refusalOf(err);
            if (refused === undefined) throw err;
            return { refused };
          }
        },
      );
      if ('refused' in answer) return { available: false, reason: answer.refused } satisfies GuestSessions;
      return { available: true, sessions: sessionsOf(answer.list, what) };
    },
  };
}
