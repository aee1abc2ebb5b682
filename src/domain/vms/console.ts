import { createHash, randomBytes } from 'node:crypto';
import { decide } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { LabRepository } from '../labs/lab-repository.js';
import { ConflictError, ForbiddenError, NotFoundError } from '../shared/errors.js';
import type { Clock } from '../shared/ids.js';
import type { VmRepository } from './vm-repository.js';
import type { VmState } from './vm-state.js';
import { toView } from './vm-view.js';

/** The two consoles of a VM: its VNC display and its serial line. */
export type ConsoleType = 'vnc' | 'serial';
export const CONSOLE_TYPES: readonly ConsoleType[] = ['vnc', 'serial'];

/** A ticket lives at most this long (it is single use, and meant to be used at once by the page). */
export const CONSOLE_TICKET_TTL_MS = 60_000;

/** States in which a VM has a running VMI, hence a console. */
const CONSOLE_STATES: ReadonlySet<VmState> = new Set<VmState>(['Running', 'Migrating', 'Paused']);

/** Who a ticket was issued to (kept for the audit event of the session it opens). */
export interface ConsoleActor {
  readonly id: string;
  readonly kind: 'user' | 'service';
  readonly name: string;
  readonly onBehalfOf?: string;
}

/** What a ticket opens: one console of one VM, for one caller, until `expiresAt`. */
export interface ConsoleGrant {
  readonly actor: ConsoleActor;
  readonly tenant: string;
  readonly vm: string;
  readonly type: ConsoleType;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/**
 * Where tickets wait for their one use: in memory in the embedded default, on Redis with REDIS_URL
 * (so a ticket issued by one replica opens on another). Keys are digests of the tickets.
 */
export interface ConsoleTicketStore {
  put(key: string, grant: ConsoleGrant, ttlMs: number): Promise<void>;
  /** The grant, removed in the same step (a second take of the same key finds nothing). */
  take(key: string): Promise<ConsoleGrant | undefined>;
}

/** Open consoles, counted for the caps (per API replica). */
export interface ConsoleSessionCounts {
  open(tenant: string, vm?: string): number;
}

export interface ConsoleLimits {
  readonly perTenant: number;
  readonly perVm: number;
}

export interface IssuedTicket {
  readonly ticket: string;
  readonly type: ConsoleType;
  /** ISO 8601. */
  readonly expiresAt: string;
}

export interface ConsoleServiceDeps {
  readonly vms: Pick<VmRepository, 'get'>;
  readonly labs: Pick<LabRepository, 'get'>;
  readonly tickets: ConsoleTicketStore;
  readonly sessions: ConsoleSessionCounts;
  readonly limits: ConsoleLimits;
  readonly clock: Clock;
  /** 32 random bytes by default; tests may fix them. */
  readonly random?: (bytes: number) => Buffer;
}

/** The store key of a ticket: its SHA-256, so the ticket itself is never a key (`SCAN`, `MONITOR`). */
export function ticketKey(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}

/** Tickets are 32 random bytes, base64url (43 characters). */
const TICKET = /^[A-Za-z0-9_-]{43}$/;

export function isTicketShaped(value: string): boolean {
  return TICKET.test(value);
}

/** Throws 409 `CONSOLE_LIMIT_REACHED` when the VM or its tenant has as many open consoles as allowed. */
export function refuseOverConsoleLimits(sessions: ConsoleSessionCounts, limits: ConsoleLimits, tenant: string, vm: string): void {
  if (sessions.open(tenant, vm) >= limits.perVm) {
    throw new ConflictError('CONSOLE_LIMIT_REACHED', `VM '${vm}' has ${limits.perVm} open consoles, as many as allowed; close one first.`, {
      details: { scope: 'vm', limit: limits.perVm },
    });
  }
  if (sessions.open(tenant) >= limits.perTenant) {
    throw new ConflictError(
      'CONSOLE_LIMIT_REACHED',
      `Tenant '${tenant}' has ${limits.perTenant} open consoles, as many as allowed; close one first.`,
      {
        details: { scope: 'tenant', limit: limits.perTenant },
      },
    );
  }
}

/**
 * Consoles of VMs: a caller who may open one gets a single-use ticket (expiring within a minute)
 * bound to them, the VM and the console type; the proxy redeems it once. Who may: platform
 * admins, tenant owners, the VM's owner, and the instructors of the VM's lab. Another tenant's VM,
 * and for members another's VM, is 404; an integration is 403 (a console is for people).
 */
export function createConsoleService(deps: ConsoleServiceDeps) {
  const random = deps.random ?? randomBytes;

  /** The VM when `p` may open its console; throws as the rules say otherwise. */
  async function authorizeConsole(p: Principal, tenant: string, name: string) {
    const gate = decide(p, 'vm.console', { tenant });
    if (gate.effect === 'hide') throw new NotFoundError('tenant', tenant);
    const vm = await deps.vms.get(tenant, name);
    if (vm === undefined) {
      if (gate.effect === 'deny') throw new ForbiddenError(gate.reason, { details: { permission: 'vm.console' } });
      throw new NotFoundError('vm', name);
    }
    const d = decide(p, 'vm.console', { tenant, ownerId: vm.ownerId });
    if (d.effect === 'allow') return vm;
    if (d.effect === 'deny') throw new ForbiddenError(d.reason, { details: { permission: 'vm.console' } });
    // A member who does not own the VM: only an instructor of its lab may look.
    if (vm.lab !== undefined) {
      const lab = await deps.labs.get(tenant, vm.lab);
      if (lab !== undefined && lab.instructors.some((i) => i.id === p.id)) return vm;
    }
    throw new NotFoundError('vm', name);
  }

  const refuseOverLimit = (tenant: string, vm: string) => refuseOverConsoleLimits(deps.sessions, deps.limits, tenant, vm);

  async function runningVm(p: Principal, tenant: string, name: string) {
    const vm = await authorizeConsole(p, tenant, name);
    const state = toView(vm, false).state;
    if (!CONSOLE_STATES.has(state)) {
      throw new ConflictError('ACTION_NOT_ALLOWED', `VM '${name}' is ${state}; it has a console only while it runs.`, { details: { state } });
    }
    return vm;
  }

  return {
    /** A ticket for one console of a running VM (the caps are checked now, and again when it opens). */
    async issue(p: Principal, tenant: string, name: string, type: ConsoleType): Promise<IssuedTicket> {
      await runningVm(p, tenant, name);
      refuseOverLimit(tenant, name);
      const ticket = random(32).toString('base64url');
      const expiresAt = deps.clock.now().getTime() + CONSOLE_TICKET_TTL_MS;
      const actor: ConsoleActor = { id: p.id, kind: p.kind, name: p.name, ...(p.onBehalfOf === undefined ? {} : { onBehalfOf: p.onBehalfOf }) };
      await deps.tickets.put(ticketKey(ticket), { actor, tenant, vm: name, type, expiresAt }, CONSOLE_TICKET_TTL_MS);
      return { ticket, type, expiresAt: new Date(expiresAt).toISOString() };
    },

    /**
     * Uses a ticket up: its grant when it is known, unexpired and (when the request also names a
     * caller) the caller's; the VM must still run and the caps have room. Every refusal of the
     * ticket itself is the same 404, so a guesser learns nothing; the ticket is gone either way.
     */
    async redeem(ticket: string, caller: Principal | undefined): Promise<ConsoleGrant> {
      const grant = isTicketShaped(ticket) ? await deps.tickets.take(ticketKey(ticket)) : undefined;
      const invalid = () => new NotFoundError('console_ticket', 'given');
      if (grant === undefined || grant.expiresAt <= deps.clock.now().getTime()) throw invalid();
      if (caller !== undefined && caller.id !== grant.actor.id) throw invalid();
      const vm = await deps.vms.get(grant.tenant, grant.vm);
      if (vm === undefined) throw new NotFoundError('vm', grant.vm);
      const state = toView(vm, false).state;
      if (!CONSOLE_STATES.has(state)) {
        throw new ConflictError('ACTION_NOT_ALLOWED', `VM '${grant.vm}' is ${state}; it has a console only while it runs.`, { details: { state } });
      }
      refuseOverLimit(grant.tenant, grant.vm);
      return grant;
    },
  };
}

export type ConsoleService = ReturnType<typeof createConsoleService>;
