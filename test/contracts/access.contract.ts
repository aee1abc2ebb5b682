import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { roleAssignmentName, roleDefinitionId, type AccessPort, type AccessRole } from '../../src/domain/identity/access.js';
import { ConflictError, UpstreamRejectedError, ValidationError } from '../../src/domain/shared/errors.js';

export interface AccessContractFixture {
  readonly port: AccessPort;
  readonly subscriptionId: string;
  /** Scope of an Arc machine in the fixture's resource group. */
  machineScope(name: string): string;
  /** An assignment someone else made, under any name. */
  seedAssignment(a: { scope: string; name: string; role: AccessRole; principalId: string }): void;
  setAssignmentLimit(n: number): void;
  cleanup(): Promise<void>;
}

const OLGA = '5e0c2a1b-7d4f-4e8a-9b3c-1f2e3d4c5b6a';
const STUDENTS = '0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d';

export function accessContract(name: string, makeFixture: () => Promise<AccessContractFixture>): void {
  describe(`AccessPort contract: ${name}`, () => {
    let fx: AccessContractFixture;
    let scope: string;
    beforeEach(async () => {
      fx = await makeFixture();
      scope = fx.machineScope('vm-olga-1');
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    it('granting creates the assignment under its deterministic name, with the full role id and the principal type', async () => {
      const a = await fx.port.grant({ scope, role: 'administrator', principalId: OLGA, principalType: 'User' });
      expect(a).toMatchObject({
        name: roleAssignmentName(scope, 'administrator', OLGA),
        scope,
        roleDefinitionId: roleDefinitionId(fx.subscriptionId, 'administrator'),
        role: 'administrator',
        principalId: OLGA,
        principalType: 'User',
      });
      expect(a.id).toBe(`${scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`);
      expect(await fx.port.list(scope)).toEqual([a]);
    });

    it('granting the same thing twice converges on one assignment', async () => {
      const first = await fx.port.grant({ scope, role: 'user', principalId: STUDENTS, principalType: 'Group' });
      const second = await fx.port.grant({ scope, role: 'user', principalId: STUDENTS, principalType: 'Group' });
      expect(second).toEqual(first);
      expect(await fx.port.list(scope)).toHaveLength(1);
    });

    it('when someone else already granted it under another name, granting answers that assignment', async () => {
      fx.seedAssignment({ scope, name: 'c0ffee00-1111-4222-8333-444455556666', role: 'user', principalId: OLGA });
      const a = await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' });
      expect(a).toMatchObject({ name: 'c0ffee00-1111-4222-8333-444455556666', role: 'user', principalId: OLGA });
      expect(await fx.port.list(scope)).toHaveLength(1);
    });

    it('administrator and user for the same principal are two assignments', async () => {
      await fx.port.grant({ scope, role: 'administrator', principalId: OLGA, principalType: 'User' });
      await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' });
      expect((await fx.port.list(scope)).map((a) => a.role).sort()).toEqual(['administrator', 'user']);
    });

    it('listing a scope answers only the assignments made on it, sorted by name', async () => {
      const other = fx.machineScope('vm-other');
      const rgScope = scope.split('/providers/')[0] ?? scope;
      await fx.port.grant({ scope: other, role: 'user', principalId: OLGA, principalType: 'User' });
      fx.seedAssignment({ scope: rgScope, name: 'd1d1d1d1-2222-4333-8444-555566667777', role: 'administrator', principalId: OLGA });
      const mine = [
        await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' }),
        await fx.port.grant({ scope, role: 'user', principalId: STUDENTS, principalType: 'Group' }),
      ].sort((a, b) => a.name.localeCompare(b.name));
      expect(await fx.port.list(scope)).toEqual(mine);
      expect(await fx.port.list(fx.machineScope('vm-empty'))).toEqual([]);
    });

    it('revoking removes the assignment; revoking again succeeds', async () => {
      await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' });
      await fx.port.revoke({ scope, role: 'user', principalId: OLGA });
      expect(await fx.port.list(scope)).toEqual([]);
      await expect(fx.port.revoke({ scope, role: 'user', principalId: OLGA })).resolves.toBeUndefined();
    });

    it('revoking removes a matching assignment made under another name, and leaves other roles alone', async () => {
      fx.seedAssignment({ scope, name: 'c0ffee00-1111-4222-8333-444455556666', role: 'user', principalId: OLGA });
      await fx.port.grant({ scope, role: 'administrator', principalId: OLGA, principalType: 'User' });
      await fx.port.revoke({ scope, role: 'user', principalId: OLGA });
      expect((await fx.port.list(scope)).map((a) => a.role)).toEqual(['administrator']);
    });

    it('a grant whose deterministic name already grants something else is a ConflictError', async () => {
      fx.seedAssignment({ scope, name: roleAssignmentName(scope, 'user', OLGA), role: 'administrator', principalId: STUDENTS });
      const err = await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err).toMatchObject({ code: 'AZURE_CONFLICT', details: { armCode: 'RoleAssignmentUpdateNotPermitted' } });
    });

    it('over the subscription cap, granting is rejected with RoleAssignmentLimitExceeded', async () => {
      fx.setAssignmentLimit(1);
      await fx.port.grant({ scope, role: 'user', principalId: OLGA, principalType: 'User' });
      const err = await fx.port.grant({ scope, role: 'user', principalId: STUDENTS, principalType: 'Group' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UpstreamRejectedError);
      expect(err).toMatchObject({ details: { armCode: 'RoleAssignmentLimitExceeded' } });
    });

    it('a malformed request is a ValidationError', async () => {
      await expect(fx.port.grant({ scope: 'vm-1', role: 'user', principalId: OLGA, principalType: 'User' })).rejects.toBeInstanceOf(ValidationError);
      await expect(fx.port.grant({ scope, role: 'owner' as AccessRole, principalId: OLGA, principalType: 'User' })).rejects.toBeInstanceOf(
        ValidationError,
      );
      await expect(fx.port.revoke({ scope, role: 'user', principalId: '' })).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
