import type * as kubevirt from '../../kubernetes/generated/kubevirt.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';
import { clone } from './types.js';
import { asVmi, condition, VMI } from './vm-sim-objects.js';

/** The VMI condition virt-handler adds while the QEMU guest agent is connected (and removes when it goes). */
export const AGENT_CONNECTED = 'AgentConnected';

/** What `GET .../virtualmachineinstances/{name}/userlist` answers. */
export type GuestOSUserList = kubevirt.Schemas['v1.VirtualMachineInstanceGuestOSUserList'];
export type GuestOSUser = kubevirt.Schemas['v1.VirtualMachineInstanceGuestOSUser'];

/** A login to open in a simulated guest. */
export interface GuestLogin {
  userName: string;
  /** Windows domain of the user (Linux guests report none). */
  domain?: string;
  /** When the user logged in; default now. */
  loginTime?: Date;
}

/** An open login in a simulated guest. */
export interface GuestSession {
  id: string;
  userName: string;
  domain?: string;
  loginTime: Date;
}

/** Simulated QEMU guest agents of running VMIs: who is logged in, and whether the agent is connected. */
export interface GuestAgentControl {
  /**
   * Logs a user into the guest of the VMI `namespace/name`; returns the session id for
   * {@link closeSession}. Throws when the VMI does not exist. Sessions end with the VMI.
   */
  openSession(namespace: string, name: string, login: GuestLogin): string;
  /** Ends a session; false when it is not open (already closed, or its VMI is gone). */
  closeSession(id: string): boolean;
  /** The sessions open in the guest of a VMI, in login order. */
  sessions(namespace: string, name: string): readonly GuestSession[];
  /**
   * The guest agent comes (back) up: the VMI gets `AgentConnected=True`, as virt-handler writes it.
   * Running VMIs of the VM lifecycle controller have it from the start. Throws when the VMI does not exist.
   */
  connectAgent(namespace: string, name: string): void;
  /** The guest agent stops answering: virt-handler removes the VMI's `AgentConnected` condition. Throws when the VMI does not exist. */
  disconnectAgent(namespace: string, name: string): void;
}

interface Session {
  id: string;
  vmiUid: string;
  namespace: string;
  name: string;
  userName: string;
  domain?: string;
  loginTime: Date;
}

/** Whether virt-api would find the guest agent connected (it looks for the condition; ours is always True). */
export function agentConnected(vmi: KubeObject): boolean {
  return (asVmi(vmi).status?.conditions ?? []).some((c) => c.type === AGENT_CONNECTED && c.status === 'True');
}

/**
 * The guest side of virt-handler's `userlist` (QEMU `guest-get-users`): one entry per user (and
 * domain) logged in, with the earliest login time of that user in fractional seconds since the epoch,
 * earliest first.
 */
export class GuestAgents implements GuestAgentControl {
  private readonly open = new Map<string, Session>();
  private next = 0;
  private readonly unsubscribe: () => void;

  constructor(private readonly store: ObjectStore) {
    // A guest's logins end with its VMI (stop, restart, deletion); a new VMI of the same name boots afresh.
    this.unsubscribe = store.subscribe(VMI, (ev) => {
      if (ev.type !== 'DELETED') return;
      for (const [id, s] of this.open) if (s.vmiUid === ev.object.metadata.uid) this.open.delete(id);
    });
  }

  close(): void {
    this.unsubscribe();
    this.open.clear();
  }

  private vmi(namespace: string, name: string): KubeObject {
    const vmi = this.store.get(VMI, namespace, name);
    if (!vmi) throw new Error(`no VirtualMachineInstance ${namespace}/${name}`);
    return vmi;
  }

  openSession(namespace: string, name: string, login: GuestLogin): string {
    const vmi = this.vmi(namespace, name);
    if (login.userName === '') throw new Error('a guest login needs a user name');
    const id = `session-${++this.next}`;
    this.open.set(id, {
      id,
      vmiUid: vmi.metadata.uid ?? '',
      namespace,
      name,
      userName: login.userName,
      ...(login.domain === undefined ? {} : { domain: login.domain }),
      loginTime: login.loginTime ?? new Date(),
    });
    return id;
  }

  closeSession(id: string): boolean {
    return this.open.delete(id);
  }

  sessions(namespace: string, name: string): GuestSession[] {
    const uid = this.store.peek(VMI, namespace, name)?.metadata.uid;
    return [...this.open.values()]
      .filter((s) => s.vmiUid === uid)
      .map((s) => ({ id: s.id, userName: s.userName, ...(s.domain === undefined ? {} : { domain: s.domain }), loginTime: s.loginTime }));
  }

  /** The user list of a VMI's guest (virt-handler's answer; virt-api checks phase and agent first). */
  userList(vmi: KubeObject): GuestOSUserList {
    const earliest = new Map<string, GuestOSUser>();
    for (const s of this.open.values()) {
      if (s.vmiUid !== vmi.metadata.uid) continue;
      const key = JSON.stringify([s.userName, s.domain ?? '']);
      const loginTime = s.loginTime.getTime() / 1000;
      const seen = earliest.get(key);
      if (seen !== undefined && (seen.loginTime ?? Infinity) <= loginTime) continue;
      earliest.set(key, { userName: s.userName, ...(s.domain === undefined ? {} : { domain: s.domain }), loginTime });
    }
    return { items: [...earliest.values()].sort((a, b) => (a.loginTime ?? 0) - (b.loginTime ?? 0)) };
  }

  connectAgent(namespace: string, name: string): void {
    const vmi = this.vmi(namespace, name);
    if (agentConnected(vmi)) return;
    this.writeConditions(vmi, [...this.otherConditions(vmi), condition(AGENT_CONNECTED, 'True')]);
  }

  disconnectAgent(namespace: string, name: string): void {
    const vmi = this.vmi(namespace, name);
    if ((asVmi(vmi).status?.conditions ?? []).every((c) => c.type !== AGENT_CONNECTED)) return;
    this.writeConditions(vmi, this.otherConditions(vmi));
  }

  private otherConditions(vmi: KubeObject) {
    return (asVmi(vmi).status?.conditions ?? []).filter((c) => c.type !== AGENT_CONNECTED);
  }

  private writeConditions(vmi: KubeObject, conditions: ReturnType<GuestAgents['otherConditions']>): void {
    const next = clone(vmi);
    const status = asVmi(next).status ?? {};
    next.status = { ...status, conditions } satisfies typeof status;
    delete next.metadata.resourceVersion;
    this.store.update(VMI, next);
  }
}
