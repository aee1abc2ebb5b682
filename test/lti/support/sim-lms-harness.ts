import Fastify, { type FastifyInstance } from 'fastify';
import { exportJWK, generateKeyPair } from 'jose';
import type { webcrypto } from 'node:crypto';
import type { ToolKeys, ToolSigningKey } from '../../../src/domain/lti/ports.js';
import { createSimLms, simLmsPlugin, type SimLms, type SimLmsOptions } from '../../../src/adapters/sim/lms/index.js';

/** Tool keys held in memory (what the tool signs client assertions and Deep Linking answers with). */
export interface TestToolKeys extends ToolKeys {
  /** A key pair the tool does NOT publish (a forger's). */
  readonly stranger: ToolSigningKey;
}

async function keyPair(kid: string): Promise<{ signing: ToolSigningKey; jwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { signing: { kid, alg: 'RS256', privateKey: privateKey as webcrypto.CryptoKey }, jwk };
}

export async function createTestToolKeys(): Promise<TestToolKeys> {
  const current = await keyPair('tool-key-1');
  const stranger = await keyPair('tool-key-1');
  return {
    stranger: stranger.signing,
    current: () => Promise.resolve(current.signing),
    jwks: () => Promise.resolve({ keys: [current.jwk] }),
    rotate: () => Promise.reject(new Error('not in tests')),
  };
}

export interface SimLmsHarness {
  readonly app: FastifyInstance;
  readonly lms: SimLms;
  readonly keys: TestToolKeys;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Requests to the tool's JWKS so far. */
  readonly jwksHits: () => number;
  close(): Promise<void>;
}

/** A server with the simulated LMS and a stand-in for the tool's `/lti/jwks`, on a free port. */
export async function startSimLms(
  options: SimLmsOptions = {},
  /** Extra routes (a stand-in for the tool's endpoints), registered before the server listens. */
  extra?: (app: FastifyInstance, origin: () => string) => Promise<void>,
): Promise<SimLmsHarness> {
  const keys = await createTestToolKeys();
  const lms = createSimLms(options);
  const app = Fastify();
  let hits = 0;
  app.get('/lti/jwks', async () => {
    hits += 1;
    return keys.jwks();
  });
  await app.register(simLmsPlugin, { lms });
  let listening = '';
  if (extra !== undefined) await app.register(async (scope) => extra(scope, () => listening));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const origin = `http://127.0.0.1:${address.port}`;
  listening = origin;
  lms.setBaseUrl(origin);
  return { app, lms, keys, origin, jwksHits: () => hits, close: () => app.close() };
}
