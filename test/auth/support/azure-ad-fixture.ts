import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export const TENANT_A = '11111111-1111-4111-8111-111111111111';
export const TENANT_B = '22222222-2222-4222-8222-222222222222';
export const FOREIGN_TENANT = '99999999-9999-4999-8999-999999999999';
export const API_CLIENT_ID = 'aaaaaaaa-0000-4000-8000-000000000001';
export const API_APP_URI = 'api://labplane';
export const LMS_APP_ID = 'bbbbbbbb-0000-4000-8000-000000000002';
export const ADMIN_GROUP = 'cccccccc-0000-4000-8000-000000000003';

export function issuerOf(tid: string): string {
  return `https://login.microsoftonline.com/${tid}/v2.0`;
}

/** A signing key as Azure AD publishes it. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: JWK;
}

export async function makeKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, use: 'sig', x5t: kid };
  return { kid, privateKey, publicKey, jwk };
}

/** Behaviour of the fake key endpoint. */
export type EndpointMode = 'up' | 'down' | 'hang' | 'garbage';

/** A JWKS endpoint on 127.0.0.1 that counts requests and can fail on demand. */
export interface JwksServer {
  readonly uri: string;
  requests: number;
  mode: EndpointMode;
  publish(keys: readonly SigningKey[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: readonly SigningKey[]): Promise<JwksServer> {
  let body = JSON.stringify({ keys: keys.map((k) => k.jwk) });
  const hanging = new Set<ServerResponse>();
  const state = { requests: 0, mode: 'up' as EndpointMode };
  const server: Server = createServer((req, res) => {
    state.requests++;
    if (state.mode === 'down') {
      res.writeHead(503).end('unavailable');
    } else if (state.mode === 'hang') {
      hanging.add(res);
    } else if (state.mode === 'garbage') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys": [ {"kty": ');
    } else {
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    uri: `http://127.0.0.1:${port}/common/discovery/v2.0/keys`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    get mode() {
      return state.mode;
    },
    set mode(m: EndpointMode) {
      state.mode = m;
    },
    publish(next) {
      body = JSON.stringify({ keys: next.map((k) => k.jwk) });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A controllable clock in epoch milliseconds. */
export interface TestClock {
  (): number;
  advance(ms: number): void;
}

export function makeClock(start = Date.now()): TestClock {
  let t = start;
  const clock = (() => t) as TestClock;
  clock.advance = (ms: number) => {
    t += ms;
  };
  return clock;
}

/** Claims of a typical delegated (user) v2 access token for the API. */
export function userClaims(nowMs: number, overrides: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: issuerOf(TENANT_A),
    aud: API_CLIENT_ID,
    tid: TENANT_A,
    oid: 'user-oid-0001',
    sub: 'pairwise-subject-0001',
    name: 'Ada Lovelace',
    preferred_username: 'ada@uni.example',
    scp: 'access_as_user',
    ver: '2.0',
    iat,
    nbf: iat,
    exp: iat + 3600,
    ...overrides,
  };
}

/** Claims of a client-credentials (app-only) token of the LMS integration. */
export function appClaims(nowMs: number, overrides: JWTPayload = {}): JWTPayload {
  const iat = Math.floor(nowMs / 1000);
  return {
    iss: issuerOf(TENANT_A),
    aud: API_CLIENT_ID,
    tid: TENANT_A,
    oid: 'sp-oid-lms',
    sub: 'sp-oid-lms',
    azp: LMS_APP_ID,
    azpacr: '1',
    idtyp: 'app',
    roles: ['LabPlane.Labs.Manage'],
    ver: '2.0',
    iat,
    nbf: iat,
    exp: iat + 3600,
    ...overrides,
  };
}

export async function sign(claims: JWTPayload, key: SigningKey, header: { alg?: string; kid?: string } = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? 'RS256', typ: 'JWT', kid: header.kid ?? key.kid }).sign(key.privateKey);
}

export function b64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url');
}

/** A logger that keeps warnings for assertions. */
export function makeLogger(): {
  warnings: Array<{ obj: object; msg: string | undefined }>;
  info(): void;
  warn(obj: object, msg?: string): void;
  error(): void;
} {
  const warnings: Array<{ obj: object; msg: string | undefined }> = [];
  return {
    warnings,
    info() {},
    warn(obj, msg) {
      warnings.push({ obj, msg });
    },
    error() {},
  };
}
