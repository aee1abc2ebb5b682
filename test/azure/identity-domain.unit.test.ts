import { describe, expect, it } from 'vitest';
import { accessRoleOf, roleAssignmentName, roleDefinitionId, ROLE_DEFINITION_GUIDS } from '../../src/domain/identity/access.js';
import { AAD_SSH_LOGIN_EXTENSION, arcMachineName, arcResourceId, extensionStateOf, sshCommand } from '../../src/domain/identity/arc-machine.js';
import { ValidationError } from '../../src/domain/shared/errors.js';
import { uuidV5 } from '../../src/domain/shared/ids.js';

const SUB = '3f2c8a71-5b9e-4d0a-9c61-0e7d4b2a9f15';

describe('Arc machine names and ids', () => {
  it('a machine is named by its tenant and its VM, so two tenants VMs of the same name never share one', () => {
    expect(arcMachineName('physics', 'vm-1')).toBe('physics.vm-1');
    expect(arcMachineName('chemistry', 'vm-1')).toBe('chemistry.vm-1');
    // DNS labels hold no ".": the split is unambiguous ("a-b" + "c" is not "a" + "b-c").
    expect(arcMachineName('a-b', 'c')).not.toBe(arcMachineName('a', 'b-c'));
  });

  it('a pair longer than ARM allows keeps the start of the VM name and a hash of the pair, still unique per tenant', () => {
    const long = `vm-${'x'.repeat(51)}`;
    const a = arcMachineName('physics', long);
    const b = arcMachineName('chemistry', long);
    for (const n of [a, b]) expect(n).toMatch(/^[a-zA-Z0-9-_.]{1,54}$/);
    expect(a).toMatch(/^vm-x+_[0-9a-f]{16}$/);
    expect(a).not.toBe(b);
    expect(arcMachineName('physics', long)).toBe(a);
    // 54 characters is still the plain form, 55 the hashed one (whose "_" no plain name holds).
    expect(arcMachineName('t'.repeat(20), 'y'.repeat(33))).toBe(`${'t'.repeat(20)}.${'y'.repeat(33)}`);
    expect(arcMachineName('t'.repeat(21), 'y'.repeat(33))).toMatch(/^y{33}_[0-9a-f]{16}$/);
  });

  it('names ARM would refuse cannot be onboarded', () => {
    for (const bad of ['', 'vm 1', 'vm/1', 'vm:1', 'vm\n1']) {
      expect(() => arcMachineName('physics', bad)).toThrow(ValidationError);
    }
    expect(() => arcMachineName('', 'vm-1')).toThrow(ValidationError);
  });

  it('the resource id is the HybridCompute machine path', () => {
    expect(arcResourceId(SUB, 'rg-lab', 'vm-1')).toBe(`/subscriptions/${SUB}/resourceGroups/rg-lab/providers/Microsoft.HybridCompute/machines/vm-1`);
  });

  it('the SSH command is exact, quoting only what needs it', () => {
    expect(sshCommand({ subscriptionId: SUB, resourceGroup: 'rg-lab', machineName: 'vm-1' })).toBe(
      `az ssh arc --subscription ${SUB} --resource-group rg-lab --name vm-1`,
    );
    expect(sshCommand({ subscriptionId: SUB, resourceGroup: "rg (o'brien)", machineName: 'vm-1' })).toBe(
      `az ssh arc --subscription ${SUB} --resource-group 'rg (o'\\''brien)' --name vm-1`,
    );
  });

  it('the SSH login extension is AADSSHLoginForLinux by Microsoft.Azure.ActiveDirectory', () => {
    expect(AAD_SSH_LOGIN_EXTENSION).toMatchObject({
      name: 'AADSSHLoginForLinux',
      publisher: 'Microsoft.Azure.ActiveDirectory',
      type: 'AADSSHLoginForLinux',
    });
  });

  it('provisioning states fold into InProgress, Succeeded and Failed', () => {
    expect(['Creating', 'Updating', 'Accepted', undefined, 'Succeeded', 'succeeded', 'Failed', 'Canceled'].map(extensionStateOf)).toEqual([
      'InProgress',
      'InProgress',
      'InProgress',
      'InProgress',
      'Succeeded',
      'Succeeded',
      'Failed',
      'Failed',
    ]);
  });
});

describe('role assignments', () => {
  const scope = arcResourceId(SUB, 'rg-lab', 'vm-1');

  it('maps access roles to the built-in login roles', () => {
    expect(ROLE_DEFINITION_GUIDS).toEqual({ administrator: '1c0163c0-47e6-4577-8991-ea5c82e286e4', user: 'fb879df8-f326-4884-b1cf-06f3ad86be52' });
    expect(roleDefinitionId(SUB, 'user')).toBe(
      `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/fb879df8-f326-4884-b1cf-06f3ad86be52`,
    );
    expect(accessRoleOf(roleDefinitionId(SUB, 'administrator'))).toBe('administrator');
    expect(accessRoleOf('1C0163C0-47E6-4577-8991-EA5C82E286E4')).toBe('administrator');
    expect(accessRoleOf('/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7')).toBeUndefined();
  });

  it('names are uuidV5(scope|roleDefinitionGuid|principalId): stable, and distinct per scope, role and principal', () => {
    const name = roleAssignmentName(scope, 'user', 'p-1');
    expect(name).toBe(uuidV5(`${scope}|fb879df8-f326-4884-b1cf-06f3ad86be52|p-1`));
    expect(name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(roleAssignmentName(scope, 'user', 'p-1')).toBe(name);
    expect(
      new Set([
        name,
        roleAssignmentName(scope, 'administrator', 'p-1'),
        roleAssignmentName(scope, 'user', 'p-2'),
        roleAssignmentName(`${scope}x`, 'user', 'p-1'),
      ]).size,
    ).toBe(4);
  });
});
