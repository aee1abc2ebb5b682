import { describe, expect, it } from 'vitest';
import { createMemoryConsoleTicketStore } from '../../src/adapters/memory/console-tickets.js';
import { createMemoryVmRepository } from '../../src/adapters/memory/vm-repository.js';
import { makePrincipal } from '../../src/domain/auth/principal.js';
import type { LabRecord } from '../../src/domain/labs/lab.js';
import type { Clock } from '../../src/domain/shared/ids.js';
import { createConsoleService, ticketKey, type ConsoleSessionCounts } from '../../src/domain/vms/console.js';
import { requestLogFields } from '../../src/main/logger.js';
import { vmSpec } from '../contracts/vm-repository.contract.js';

const SOURCE = { namespace: 'labplane-images', pvcName: 'golden' };
const T = 'cs-101';

function setup(opts: { open?: (tenant: string, vm?: string) => number } = {}) {
  let now = Date.parse('2026-03-02T09:00:00Z');
  const clock: Clock = { now: () => new Date(now) };
  const vms = createMemoryVmRepository({
    vms: [
      vmSpec(T, SOURCE, { name: 'mine', ownerId: 'stu-1', lab: 'course', running: true }),
      vmSpec(T, SOURCE, { name: 'off', ownerId: 'stu-1', running: false }),
    ],
  });
  const labs = {
    get: async (_tenant: string, name: string) =>
      name === 'course' ? ({ instructors: [{ id: 'inst-1', email: 'i@uni.example', displayName: 'I' }] } as unknown as LabRecord) : undefined,
  };
  const sessions: ConsoleSessionCounts = { open: opts.open ?? (() => 0) };
  const service = createConsoleService({
    vms,
    labs,
    tickets: createMemoryConsoleTicketStore(clock),
    sessions,
    limits: { perTenant: 3, perVm: 1 },
    clock,
  });
  return { service, advance: (ms: number) => (now += ms) };
}

const owner = makePrincipal({ id: 'olga', tenantRoles: [[T, 'owner']] });
const student = makePrincipal({ id: 'stu-1', tenantRoles: [[T, 'member']] });
const neighbour = makePrincipal({ id: 'stu-2', tenantRoles: [[T, 'member']] });
const instructor = makePrincipal({ id: 'inst-1', tenantRoles: [[T, 'member']] });
const outsider = makePrincipal({ id: 'otto', tenantRoles: [['other', 'owner']] });
const integration = makePrincipal({ id: 'lms', kind: 'service', integrationRoles: ['vms.manage'], integrationTenants: [T] });
const admin = makePrincipal({ id: 'root', platformAdmin: true });

describe('who gets a console ticket', () => {
  it('the VM owner, tenant owners, the lab’s instructors and platform admins', async () => {
    const { service } = setup();
    for (const p of [student, owner, instructor, admin]) await expect(service.issue(p, T, 'mine', 'vnc')).resolves.toMatchObject({ type: 'vnc' });
  });

  it('a neighbour is 404 VM_NOT_FOUND, another tenant’s owner 404 TENANT_NOT_FOUND, an integration 403', async () => {
    const { service } = setup();
    await expect(service.issue(neighbour, T, 'mine', 'vnc')).rejects.toMatchObject({ code: 'VM_NOT_FOUND' });
    await expect(service.issue(outsider, T, 'mine', 'vnc')).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    await expect(service.issue(integration, T, 'mine', 'vnc')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.issue(integration, T, 'nope', 'vnc')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a stopped VM has none (409 ACTION_NOT_ALLOWED), nor a VM at its cap (409 CONSOLE_LIMIT_REACHED)', async () => {
    await expect(setup().service.issue(owner, T, 'off', 'serial')).rejects.toMatchObject({
      code: 'ACTION_NOT_ALLOWED',
      details: { state: 'Stopped' },
    });
    const full = setup({ open: (_t, vm) => (vm === undefined ? 1 : 1) });
    await expect(full.service.issue(owner, T, 'mine', 'serial')).rejects.toMatchObject({
      code: 'CONSOLE_LIMIT_REACHED',
      details: { scope: 'vm', limit: 1 },
    });
    const tenantFull = setup({ open: (_t, vm) => (vm === undefined ? 3 : 0) });
    await expect(tenantFull.service.issue(owner, T, 'mine', 'serial')).rejects.toMatchObject({ details: { scope: 'tenant', limit: 3 } });
  });
});

describe('redeeming a ticket', () => {
  it('opens once, bound to the VM and the type it was issued for', async () => {
    const { service } = setup();
    const t = await service.issue(student, T, 'mine', 'serial');
    await expect(service.redeem(t.ticket, undefined)).resolves.toMatchObject({ tenant: T, vm: 'mine', type: 'serial', actor: { id: 'stu-1' } });
    await expect(service.redeem(t.ticket, undefined)).rejects.toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
  });

  it('is refused after its minute (and was alive just before it)', async () => {
    const a = setup();
    const early = await a.service.issue(owner, T, 'mine', 'vnc');
    a.advance(59_999);
    await expect(a.service.redeem(early.ticket, undefined)).resolves.toBeDefined();
    const late = await a.service.issue(owner, T, 'mine', 'vnc');
    a.advance(60_000);
    await expect(a.service.redeem(late.ticket, undefined)).rejects.toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
  });

  it('is refused to another caller, and then gone for its holder too', async () => {
    const { service } = setup();
    const t = await service.issue(owner, T, 'mine', 'vnc');
    await expect(service.redeem(t.ticket, neighbour)).rejects.toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
    await expect(service.redeem(t.ticket, owner)).rejects.toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
  });

  it('refuses anything not shaped like a ticket without a store lookup, and the store holds digests only', async () => {
    const { service } = setup();
    await expect(service.redeem('../../etc', undefined)).rejects.toMatchObject({ code: 'CONSOLE_TICKET_NOT_FOUND' });
    expect(ticketKey('abc')).not.toContain('abc');
  });
});

describe('request logs', () => {
  it('never carry the ticket of a console socket path', () => {
    const fields = requestLogFields({ method: 'GET', url: '/v1/console/3lrt1rrQOieiRUUBkSgXu0qZ1GgtQGTdBfAiSU5vnpU', headers: {} });
    expect(fields.url).toBe('/v1/console/[redacted]');
    expect(requestLogFields({ method: 'GET', url: '/v1/tenants/t' }).url).toBe('/v1/tenants/t');
  });
});
