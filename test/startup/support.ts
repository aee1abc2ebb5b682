import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A loopback port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A kubeconfig file whose current context points at `server` with a bearer `token`. */
export function writeKubeconfig(server: string, token = 'not-a-real-token'): string {
  const path = join(mkdtempSync(join(tmpdir(), 'lp-startup-')), 'config');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      `clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]`,
      `users: [{name: u, user: {token: ${token}}}]`,
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x',
    ].join('\n'),
  );
  return path;
}

/** What an entry point did before it exited. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `src/main/<entry>.ts` the way `npm start` does, with only `env` (plus PATH) set, and resolves
 * when it exits. A child still running after `killAfterMs` is killed (the test then sees the signal).
 */
export function runEntry(entry: 'server' | 'worker', env: Record<string, string>, killAfterMs = 60_000): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/main/${entry}.ts`], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A started entry point that printed its listening address. */
export interface Running {
  readonly url: string;
  /** What it wrote so far. */
  output(): { stdout: string; stderr: string };
  /** Sends SIGTERM and resolves with how it exited. */
  stop(): Promise<Exit>;
}

/** Starts `src/main/server.ts` and resolves once it printed `labplane is listening on <url>`; rejects if it exits first. */
export function startServer(env: Record<string, string>): Promise<Running> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/server.ts'], {
    cwd: ROOT,
    // Start-up on a busy test machine stalls the event loop for seconds: no load shedding here.
    env: { PATH: process.env['PATH'] ?? '', HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /labplane is listening on (http:\/\/\S+)/.exec(stdout);
      if (m?.[1] !== undefined) {
        resolve({
          url: m[1],
          output: () => ({ stdout, stderr }),
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    void exited.then((e) => reject(new Error(`server exited before listening (${String(e.code)}): ${e.stderr}`)));
  });
}

/** The settings of a real deployment (no dev mode): Azure AD sign-in, Redis, a kubeconfig. */
export function realEnv(kubeconfig: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KUBECONFIG: kubeconfig,
    REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
    AUTH_TENANT_IDS: DIRECTORY,
    AUTH_AUDIENCES: AUDIENCE,
    AUTH_JWKS_URI: 'http://127.0.0.1:9/keys',
    EMBEDDED_WORKER: 'false',
    ...extra,
  };
}

export const DIRECTORY = '7a2c9f4e-0d1b-4c3a-9e8f-112233445566';
export const AUDIENCE = 'api://labplane-startup-test';

/** A JWKS endpoint on loopback and a signer of Azure AD-shaped tokens it vouches for. */
export interface AzureAdStub {
  readonly jwksUri: string;
  token(claims: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export async function startAzureAdStub(): Promise<AzureAdStub> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    jwksUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
    token: (claims) =>
      new SignJWT({ tid: DIRECTORY, ver: '2.0', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(`https://login.microsoftonline.com/${DIRECTORY}/v2.0`)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
