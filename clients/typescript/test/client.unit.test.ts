import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { signInWithDeviceCode } from '../src/cli/device-code.js';
import { runCli } from '../src/cli/program.js';
import { configPath, readConfig, removeConfigToken, resolveConnection, writeConfig } from '../src/cli/config.js';
import { createApi, LabplaneProblemError, retryAfterSeconds } from '../src/index.js';

const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: 'about:blank', title: 'x', status, code, detail: `${code} happened` }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

describe('retries', () => {
  it('a 503 is retried after its Retry-After with the same Idempotency-Key; a 4xx is not', async () => {
    const seen: { key: string | null; auth: string | null }[] = [];
    const waits: number[] = [];
    const answers = [
      problem(503, 'KUBERNETES_UNAVAILABLE', { 'retry-after': '3' }),
      new Response('{"id":"t"}', { status: 201, headers: { 'content-type': 'application/json' } }),
    ];
    const api = createApi({
      baseUrl: 'http://api.invalid/',
      token: 'abc',
      sleep: async (ms) => void waits.push(ms),
      fetch: async (request) => {
        seen.push({ key: request.headers.get('idempotency-key'), auth: request.headers.get('authorization') });
        return answers.shift()!;
      },
    });
    const { data } = await api.POST('/v1/tenants', { body: { id: 't', displayName: 't', profile: 'faculty' } });
    expect(data).toEqual({ id: 't' });
    expect(waits).toEqual([3000]);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.key).toEqual(seen[1]!.key);
    expect(seen[0]!.auth).toBe('Bearer abc');

    let calls = 0;
    const refusing = createApi({ baseUrl: 'http://api.invalid', fetch: async () => (calls++, problem(409, 'TENANT_EXISTS')) });
    const error = await refusing.POST('/v1/tenants', { body: { id: 't', displayName: 't', profile: 'faculty' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LabplaneProblemError);
    expect(error).toMatchObject({ status: 409, code: 'TENANT_EXISTS', detail: 'TENANT_EXISTS happened', errors: [] });
    expect(calls).toBe(1);
  });

  it('gives up after the retries with the last problem, and a non-problem answer still becomes one', async () => {
    const waits: number[] = [];
    const api = createApi({
      baseUrl: 'http://api.invalid',
      retries: 2,
      sleep: async (ms) => void waits.push(ms),
      fetch: async () => problem(429, 'RATE_LIMITED'),
    });
    await expect(api.GET('/v1/tenants')).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(waits).toEqual([1000, 2000]);
    const proxy = createApi({ baseUrl: 'http://api.invalid', fetch: async () => new Response('<html>bad gateway</html>', { status: 502 }) });
    await expect(proxy.GET('/v1/tenants')).rejects.toMatchObject({ status: 502, code: 'HTTP_502' });
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterSeconds(new Headers({ 'retry-after': '7' }))).toBe(7);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:10 GMT' }), now)).toBe(10);
    expect(retryAfterSeconds(new Headers())).toBeUndefined();
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});

describe('CLI configuration', () => {
  it('is written 0600 (an existing file narrowed too); flags win over the environment, which wins over the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'labplane-config-'));
    try {
      const path = join(dir, 'labplane', 'config.json');
      await writeFile(join(dir, 'loose.json'), '{}', { mode: 0o644 });
      await writeConfig(join(dir, 'loose.json'), { token: 'x' });
      expect((await stat(join(dir, 'loose.json'))).mode & 0o777).toBe(0o600);
      await writeConfig(path, { url: 'http://file', token: 'file-token', tenant: 'file-t' });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, 'labplane'))).mode & 0o777).toBe(0o700);
      const stored = await readConfig(path);
      expect(resolveConnection({}, {}, stored)).toEqual({ url: 'http://file', token: 'file-token', tenant: 'file-t' });
      expect(resolveConnection({}, { LABPLANE_URL: 'http://env', LABPLANE_TOKEN: 'env-token', LABPLANE_TENANT: '' }, stored)).toEqual({
        url: 'http://env',
        token: 'env-token',
        tenant: 'file-t',
      });
      expect(resolveConnection({ url: 'http://flag', token: 'flag-token' }, { LABPLANE_URL: 'http://env' }, stored)).toMatchObject({
        url: 'http://flag',
        token: 'flag-token',
      });
      // An Azure AD token past its expiry is not sent.
      expect(resolveConnection({}, {}, { token: 'old', tokenExpiresOn: '2020-01-01T00:00:00Z' }).token).toBeUndefined();
      expect(resolveConnection({}, {}, {})).toEqual({ url: 'http://127.0.0.1:8080', token: undefined, tenant: undefined });
      await removeConfigToken(path);
      expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ url: 'http://file', tenant: 'file-t' });
      expect(configPath({ XDG_CONFIG_HOME: '/x' })).toBe('/x/labplane/config.json');
      expect(configPath({ LABPLANE_CONFIG: '/y.json', XDG_CONFIG_HOME: '/x' })).toBe('/y.json');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('device code sign-in hands tenant, client id and the prompt to the credential and asks for the API scope', async () => {
    const asked: unknown[] = [];
    const prompts: string[] = [];
    const token = await signInWithDeviceCode(
      { tenantId: 'dir-guid', clientId: 'cli-app', scope: 'api://labplane/.default' },
      (m) => prompts.push(m),
      (options) => ({
        async getToken(scopes) {
          asked.push({ tenantId: options.tenantId, clientId: options.clientId, scopes });
          options.userPromptCallback?.({
            userCode: 'ABC',
            verificationUri: 'https://microsoft.com/devicelogin',
            message: 'Go to the page, enter ABC',
          });
          return { token: 'aad-token', expiresOnTimestamp: 1_900_000_000_000 };
        },
      }),
    );
    expect(token.token).toBe('aad-token');
    expect(asked).toEqual([{ tenantId: 'dir-guid', clientId: 'cli-app', scopes: 'api://labplane/.default' }]);
    expect(prompts).toEqual(['Go to the page, enter ABC']);
    await expect(
      signInWithDeviceCode(
        { tenantId: 'a', clientId: 'b', scope: 'c' },
        () => {},
        () => ({ getToken: async () => null }),
      ),
    ).rejects.toThrow(/no token/);
  });

  it('labplane login --device-code: the flags reach the credential, the token is stored with its expiry; missing flags are a usage error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'labplane-login-'));
    try {
      const out = new PassThrough();
      const err = new PassThrough();
      let errText = '';
      err.on('data', (d: Buffer) => (errText += d.toString()));
      const config = join(dir, 'config.json');
      const given: unknown[] = [];
      const io = {
        stdout: out as unknown as NodeJS.WriteStream,
        stderr: err as unknown as NodeJS.WriteStream,
        env: { LABPLANE_CONFIG: config, AZURE_CLIENT_ID: 'cli-app' },
        deviceCode: (options: { tenantId?: string; clientId?: string; userPromptCallback?: (i: never) => void }) => ({
          async getToken(scopes: string | string[]) {
            given.push({ tenantId: options.tenantId, clientId: options.clientId, scopes });
            options.userPromptCallback?.({ message: 'enter code XYZ at https://microsoft.com/devicelogin' } as never);
            return { token: 'aad-token', expiresOnTimestamp: Date.parse('2030-01-01T00:00:00Z') };
          },
        }),
      };
      const missing = await runCli(['login', '--device-code', '--azure-tenant-id', 'dir-guid'], { ...io, env: { LABPLANE_CONFIG: config } });
      expect(missing).toBe(2);
      expect(errText).toMatch(/--device-code needs --azure-tenant-id, --client-id and --scope/);
      const code = await runCli(
        ['login', '--device-code', '--azure-tenant-id', 'dir-guid', '--scope', 'api://labplane/.default', '--url', 'https://labs.uni.example'],
        io,
      );
      expect(code).toBe(0);
      expect(given).toEqual([{ tenantId: 'dir-guid', clientId: 'cli-app', scopes: 'api://labplane/.default' }]);
      expect(errText).toContain('enter code XYZ at https://microsoft.com/devicelogin');
      expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({
        url: 'https://labs.uni.example',
        token: 'aad-token',
        tokenExpiresOn: '2030-01-01T00:00:00.000Z',
      });
      expect((await stat(config)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
