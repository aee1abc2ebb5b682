import { calculateJwkThumbprint, createLocalJWKSet, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { createKubeLtiToolKeys, LTI_KEYS_SECRET } from '../../src/adapters/kubernetes/lti-tool-keys.js';
import { createToolKeys, createMemoryToolKeyStore } from '../../src/adapters/lti/tool-keys.js';
import { startKubeEmulator, type KubeEmulator } from '../../src/adapters/sim/kube-emulator/index.js';
import type { ToolKeys } from '../../src/domain/lti/ports.js';
import { LTI_KEY_GRACE_MS } from '../../src/domain/lti/tool-key-set.js';
import { emulatorClient, recordingLogger } from '../kubernetes/support/kube-fixture.js';
import { eventually } from '../webhooks/support.js';

const CONTROL = 'labplane-system';
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const DAY = 24 * 3_600_000;

function manualClock(start = Date.parse('2026-03-01T10:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const emulators: KubeEmulator[] = [];
afterAll(async () => {
  for (const e of emulators) await e.close();
});

async function replicas(n: number, clock = manualClock()) {
  const emulator = await startKubeEmulator({ namespaces: [CONTROL] });
  emulators.push(emulator);
  const loggers = Array.from({ length: n }, () => recordingLogger());
  const keys = loggers.map((logger) =>
    createKubeLtiToolKeys({ client: emulatorClient(emulator.url, logger), namespace: CONTROL, clock, watchRestartDelayMs: { min: 20, max: 200 } }),
  );
  for (const k of keys) expect(await k.start()).toBe(true);
  return { emulator, keys, loggers, clock, close: () => Promise.all(keys.map((k) => k.close())) };
}

async function sign(keys: Pick<ToolKeys, 'current'>): Promise<string> {
  const k = await keys.current();
  return new SignJWT({ hello: 'platform' })
    .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(k.privateKey);
}

describe('the tool keys in the labplane-lti-keys Secret', () => {
  it('are created on first use: one RS256 2048 key whose kid is its RFC 7638 thumbprint; the JWKS holds no private member and verifies what current() signs', async () => {
    const { emulator, keys, loggers, close } = await replicas(1);
    try {
      const [k] = keys;
      const jwks = await k!.jwks();
      expect(jwks.keys).toHaveLength(1);
      const jwk = jwks.keys[0] as JWK;
      expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig', e: 'AQAB' });
      expect(Buffer.from(jwk.n ?? '', 'base64url').length * 8).toBe(2048);
      for (const m of PRIVATE_MEMBERS) expect(jwk, m).not.toHaveProperty(m);
      expect(jwk.kid).toBe(await calculateJwkThumbprint({ kty: 'RSA', n: jwk.n, e: jwk.e } as JWK, 'sha256'));
      expect((await k!.current()).kid).toBe(jwk.kid);
      const { payload } = await jwtVerify(await sign(k!), createLocalJWKSet(jwks as { keys: JWK[] }));
      expect(payload['hello']).toBe('platform');
      expect(emulator.store.list('secrets', { namespace: CONTROL }).map((s) => s.metadata.name)).toEqual([LTI_KEYS_SECRET]);
      // Nothing private in any log line.
      const d = String(
        (
          JSON.parse(
            Buffer.from(
              String((emulator.store.get('secrets', CONTROL, LTI_KEYS_SECRET)?.['data'] as Record<string, string>)['keys.json']),
              'base64',
            ).toString(),
          ) as { keys: Array<{ privateJwk: { d: string } }> }
        ).keys[0]?.privateJwk.d,
      );
      expect(d.length).toBeGreaterThan(100);
      expect(JSON.stringify(loggers)).not.toContain(d.slice(0, 40));
    } finally {
      await close();
    }
  });

  it('two replicas racing on first use end with the same single key', async () => {
    const { emulator, keys, close } = await replicas(2);
    try {
      const [a, b] = await Promise.all(keys.map((k) => k.current()));
      expect(a?.kid).toBe(b?.kid);
      expect(emulator.store.list('secrets', { namespace: CONTROL })).toHaveLength(1);
    } finally {
      await close();
    }
  });

  it('rotation: the new key signs, the old one stays published until retiredAt + grace, and is dropped by the next rotation after that; the other replica follows by the watch', async () => {
    const { keys, clock, close } = await replicas(2);
    try {
      const [a, b] = keys as [(typeof keys)[0], (typeof keys)[0]];
      const first = (await a.current()).kid;
      const oldToken = await sign(a);
      await b.rotate();
      const second = (await b.current()).kid;
      expect(second).not.toBe(first);
      await eventually(async () => (await a.current()).kid === second, 5_000, 'the other replica to see the rotation');
      const published = await a.jwks();
      expect(published.keys.map((k) => k['kid'])).toEqual([second, first]);
      // What the old key signed still verifies within the grace.
      await jwtVerify(oldToken, createLocalJWKSet(published as { keys: JWK[] }));
      clock.advance(LTI_KEY_GRACE_MS - 1_000);
      expect((await a.jwks()).keys.map((k) => k['kid'])).toEqual([second, first]);
      clock.advance(1_000);
      expect((await a.jwks()).keys.map((k) => k['kid'])).toEqual([second]);
      await a.rotate();
      const third = (await a.current()).kid;
      const after = await a.jwks();
      expect(after.keys.map((k) => k['kid'])).toEqual([third, second]);
      await eventually(async () => (await b.jwks()).keys.map((k) => k['kid']).join() === [third, second].join(), 5_000, 'the other replica');
    } finally {
      await close();
    }
  });

  it('rotates by age only when due (the leader loop)', async () => {
    const { keys, clock, close } = await replicas(1);
    try {
      const [k] = keys;
      const first = (await k!.current()).kid;
      clock.advance(89 * DAY);
      expect(await k!.rotateIfDue(90 * DAY)).toBe(false);
      clock.advance(DAY);
      expect(await k!.rotateIfDue(90 * DAY)).toBe(true);
      expect((await k!.current()).kid).not.toBe(first);
      expect(await k!.rotateIfDue(90 * DAY)).toBe(false);
    } finally {
      await close();
    }
  });
});

describe('tool keys without a synced watch', () => {
  it('read the Secret again at most once a minute', async () => {
    const emulator = await startKubeEmulator({ namespaces: [CONTROL] });
    emulators.push(emulator);
    const clock = manualClock();
    // Never started: no watch, every read goes to the API server (throttled).
    const keys = createKubeLtiToolKeys({ client: emulatorClient(emulator.url), namespace: CONTROL, clock });
    const gets = () => emulator.requestCount({ method: 'GET', pathPrefix: `/api/v1/namespaces/${CONTROL}/secrets/${LTI_KEYS_SECRET}` });
    const first = (await keys.current()).kid;
    const before = gets();
    clock.advance(59_000);
    expect((await keys.current()).kid).toBe(first);
    expect(gets()).toBe(before);
    clock.advance(1_000);
    await keys.jwks();
    expect(gets()).toBe(before + 1);
  });
});

describe('tool keys in memory (for parts built without a cluster)', () => {
  it('behave the same: create on first use, rotate, publish within grace', async () => {
    const clock = manualClock();
    const store = createMemoryToolKeyStore();
    const keys = createToolKeys({ store, clock });
    const first = (await keys.current()).kid;
    await keys.rotate();
    expect((await keys.jwks()).keys.map((k) => k['kid'])).toEqual([(await keys.current()).kid, first]);
    expect(JSON.stringify(await keys.jwks())).not.toContain('"d"');
  });
});
