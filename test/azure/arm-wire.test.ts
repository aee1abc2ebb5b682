import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { AAD_SSH_LOGIN_EXTENSION, arcResourceId } from '../../src/domain/identity/arc-machine.js';
import { ConflictError, UpstreamRejectedError, UpstreamUnavailableError, ValidationError } from '../../src/domain/shared/errors.js';
import { uuidV5 } from '../../src/domain/shared/ids.js';
import { CONTROL_PLANE_TOKEN, RESOURCE_GROUP, SUBSCRIPTION, startWireFixture, type WireFixture } from './support/azure-fixture.js';

const EXT = AAD_SSH_LOGIN_EXTENSION.name;
const OLGA = '5e0c2a1b-7d4f-4e8a-9b3c-1f2e3d4c5b6a';
const scopeOf = (name: string) => arcResourceId(SUBSCRIPTION, RESOURCE_GROUP, name);

let fx: WireFixture;
afterEach(async () => {
  await fx?.close();
});

function seed(name: string, status: 'Connected' | 'Disconnected' = 'Connected'): void {
  fx.server.state.machines.set(name.toLowerCase(), {
    name,
    status,
    tags: {},
    lastStatusChange: '2025-03-01T07:58:12Z',
    agentVersion: '1.48.02881.1941',
  });
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('extension install over the wire', () => {
  it('sends one PUT with location, publisher and type, then follows Azure-AsyncOperation; a worker that crashed resumes without a second PUT', async () => {
    fx = await startWireFixture();
    seed('vm-1');
    const stored = await fx.arc().beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
    const put = fx.server.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual({
      location: 'westeurope',
      properties: { publisher: 'Microsoft.Azure.ActiveDirectory', type: 'AADSSHLoginForLinux', autoUpgradeMinorVersion: true },
    });
    expect(stored).toContain('/operationStatus/');
    expect(stored).not.toContain(CONTROL_PLANE_TOKEN);

    // The worker dies here; another process builds a fresh adapter from configuration and the stored state.
    let r = await fx.arc().pollExtension('vm-1', EXT, stored);
    while (r.status === 'InProgress') {
      expect(r.retryAfterSeconds).toBe(1);
      r = await fx.arc().pollExtension('vm-1', EXT, r.resumeState);
    }
    expect(r.status).toBe('Succeeded');
    expect(fx.server.count('PUT')).toBe(1);
    expect(fx.server.count('GET', '/operationStatus/')).toBe(3);
  });

  it('a status read that keeps failing surfaces as AZURE_UNAVAILABLE after the SDK retries; polling again with the previous state goes on', async () => {
    fx = await startWireFixture({ retry: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 10 } });
    seed('vm-1');
    const stored = await fx.arc().beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
    fx.server.inject({
      method: 'GET',
      path: '/operationStatus/',
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'boom' } },
      times: 3,
    });
    const err = await failure(fx.arc().pollExtension('vm-1', EXT, stored));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_UNAVAILABLE', details: { statusCode: 500 } });
    let r = await fx.arc().pollExtension('vm-1', EXT, stored);
    while (r.status === 'InProgress') r = await fx.arc().pollExtension('vm-1', EXT, r.resumeState);
    expect(r.status).toBe('Succeeded');
    expect(fx.server.count('PUT')).toBe(1);
  });

  it('when only the first status read after the PUT fails, begin still answers a resume state: still one PUT in all', async () => {
    fx = await startWireFixture();
    seed('vm-1');
    fx.server.inject({
      method: 'GET',
      path: '/operationStatus/',
      status: 500,
      body: { error: { code: 'InternalServerError', message: 'boom' } },
      times: 3,
    });
    let r = await fx.arc().pollExtension('vm-1', EXT, await fx.arc().beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION));
    while (r.status === 'InProgress') r = await fx.arc().pollExtension('vm-1', EXT, r.resumeState);
    expect(r.status).toBe('Succeeded');
    expect(fx.server.count('PUT')).toBe(1);
  });

  it('a resume state whose polling URL points outside ARM is refused before any request is sent', async () => {
    fx = await startWireFixture();
    seed('vm-1');
    const stored = await fx.arc().beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
    const tampered = stored.replaceAll(fx.server.url, 'https://collector.example');
    const sent = fx.server.requests.length;
    await expect(fx.arc().pollExtension('vm-1', EXT, tampered)).rejects.toBeInstanceOf(ValidationError);
    expect(fx.server.requests.length).toBe(sent);
  });

  it("another operation on the machine in the way is a ConflictError with ARM's code", async () => {
    fx = await startWireFixture();
    seed('vm-1');
    fx.server.inject({ method: 'PUT', status: 409, body: { error: { code: 'OperationNotAllowed', message: 'Another operation is in progress.' } } });
    const err = await failure(fx.arc().beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION));
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'AZURE_CONFLICT', details: { armCode: 'OperationNotAllowed', statusCode: 409 } });
  });
});

describe('reads over the wire', () => {
  it('a resource group of 250 machines lists completely, one read per page of 100', async () => {
    fx = await startWireFixture();
    fx.server.state.pageSize = 100;
    for (let i = 0; i < 250; i += 1) seed(`vm-${String(i).padStart(3, '0')}`);
    const all = await fx.arc().listMachines();
    expect(all).toHaveLength(250);
    expect(all[249]?.name).toBe('vm-249');
    expect(fx.server.count('GET', '/machines')).toBe(3);
  });
});

describe('role assignments over the wire', () => {
  it('the name is uuidV5(scope|roleDefinitionGuid|principalId) and principalType is always sent', async () => {
    fx = await startWireFixture();
    const scope = scopeOf('vm-1');
    await fx.access().grant({ scope, role: 'user', principalId: OLGA, principalType: 'Group' });
    const put = fx.server.requests.find((r) => r.method === 'PUT');
    const name = uuidV5(`${scope}|fb879df8-f326-4884-b1cf-06f3ad86be52|${OLGA}`);
    expect(put?.path).toBe(`${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`);
    expect(put?.query).toBe('?api-version=2022-04-01');
    expect(put?.body).toEqual({
      properties: {
        roleDefinitionId: `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/fb879df8-f326-4884-b1cf-06f3ad86be52`,
        principalId: OLGA,
        principalType: 'Group',
      },
    });
  });

  it('409 RoleAssignmentExists on a retried grant counts as success and answers the existing assignment', async () => {
    fx = await startWireFixture();
    const scope = scopeOf('vm-1');
    const first = await fx.access().grant({ scope, role: 'administrator', principalId: OLGA, principalType: 'User' });
    const again = await fx.access().grant({ scope, role: 'administrator', principalId: OLGA, principalType: 'User' });
    expect(again).toEqual(first);
    expect(fx.server.requests.filter((r) => r.method === 'PUT').map((r) => r.status)).toEqual([201, 409]);
  });

  it('409 RoleAssignmentExists for an assignment that is not listed yet is retryable, not a conflict', async () => {
    fx = await startWireFixture();
    fx.server.inject({
      method: 'PUT',
      status: 409,
      body: { error: { code: 'RoleAssignmentExists', message: 'The role assignment already exists.' } },
    });
    const err = await failure(fx.access().grant({ scope: scopeOf('vm-1'), role: 'user', principalId: OLGA, principalType: 'User' }));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_ROLE_ASSIGNMENT_NOT_VISIBLE', retryAfterSeconds: 5 });
  });

  it('a principal Azure AD does not know yet is a retryable AZURE_PRINCIPAL_NOT_FOUND', async () => {
    fx = await startWireFixture();
    fx.server.inject({
      method: 'PUT',
      status: 400,
      body: { error: { code: 'PrincipalNotFound', message: `Principal ${OLGA} does not exist in the directory.` } },
    });
    const err = await failure(fx.access().grant({ scope: scopeOf('vm-1'), role: 'user', principalId: OLGA, principalType: 'User' }));
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(err).toMatchObject({ code: 'AZURE_PRINCIPAL_NOT_FOUND', retryAfterSeconds: 30 });
  });
});

describe('ARM errors are translated at the boundary', () => {
  const cases = [
    { status: 403, code: 'AuthorizationFailed', kind: UpstreamRejectedError, domain: 'AZURE_FORBIDDEN' },
    { status: 401, code: 'InvalidAuthenticationToken', kind: UpstreamRejectedError, domain: 'AZURE_UNAUTHORIZED' },
    { status: 400, code: 'InvalidRequestContent', kind: UpstreamRejectedError, domain: 'AZURE_REJECTED' },
    { status: 404, code: 'ResourceGroupNotFound', kind: UpstreamRejectedError, domain: 'AZURE_SCOPE_NOT_FOUND' },
    { status: 409, code: 'Conflict', kind: ConflictError, domain: 'AZURE_CONFLICT' },
    { status: 500, code: 'InternalServerError', kind: UpstreamUnavailableError, domain: 'AZURE_UNAVAILABLE' },
  ] as const;
  for (const c of cases) {
    it(`${c.status} ${c.code} becomes ${c.kind.name} ${c.domain} carrying the ARM code`, async () => {
      fx = await startWireFixture();
      fx.server.inject({ status: c.status, body: { error: { code: c.code, message: 'refused by the test server' } }, times: 5 });
      const err = await failure(fx.arc().listMachines());
      expect(err).toBeInstanceOf(c.kind);
      expect(err).toMatchObject({ code: c.domain, details: { armCode: c.code, statusCode: c.status } });
    });
  }

  it('5xx is retried by the SDK before giving up (maxRetries + 1 attempts)', async () => {
    fx = await startWireFixture({ retry: { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 10 } });
    fx.server.inject({ status: 503, body: { error: { code: 'ServiceUnavailable', message: 'down' } }, times: 10 });
    await expect(fx.arc().getMachine('vm-1')).rejects.toMatchObject({ code: 'AZURE_UNAVAILABLE' });
    expect(fx.server.requests).toHaveLength(3);
  });

  it('a dropped connection is AZURE_UNREACHABLE', async () => {
    fx = await startWireFixture();
    fx.server.inject({ status: 'reset', times: 5 });
    await expect(fx.arc().getMachine('vm-1')).rejects.toMatchObject({ code: 'AZURE_UNREACHABLE' });
  });

  it('no error, cause or log line carries the bearer token, though every request did', async () => {
    fx = await startWireFixture();
    const errors: unknown[] = [];
    for (const status of [400, 403, 404, 409, 429, 500]) {
      fx.server.inject({ status, headers: { 'retry-after': '600' }, body: { error: { code: `E${status}`, message: 'no' } }, times: 3 });
      errors.push(await failure(fx.access().grant({ scope: scopeOf('vm-1'), role: 'user', principalId: OLGA, principalType: 'User' })));
    }
    fx.server.inject({ status: 'reset' });
    errors.push(await failure(fx.arc().listMachines()));
    expect(fx.server.requests.every((r) => r.authorization === `Bearer ${CONTROL_PLANE_TOKEN}`)).toBe(true);
    for (const err of errors) {
      expect(inspect(err, { depth: 20, showHidden: true })).not.toContain(CONTROL_PLANE_TOKEN);
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(CONTROL_PLANE_TOKEN);
    }
    expect(JSON.stringify(fx.logger.lines)).not.toContain(CONTROL_PLANE_TOKEN);
  });
});
