import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LaunchState, LaunchStateStore, LtiSession, LtiSessionStore, NonceLedger } from '../../src/domain/lti/ports.js';
import { withFixture } from '../support/with-fixture.js';

/**
 * The LTI launch stores (launch states, the nonce ledger, sessions). `pass(ms)` lets time go by:
 * the memory twins move their injected clock; Redis expires keys in real time, so its runner waits.
 */
export interface LtiStoresFixture {
  readonly states: LaunchStateStore;
  readonly nonces: NonceLedger;
  readonly sessions: LtiSessionStore;
  /** The stores' notion of now (epoch ms), for session expiry. */
  now(): number;
  pass(ms: number): Promise<void>;
  close(): Promise<void>;
}
export type LtiStoresFactory = () => Promise<LtiStoresFixture>;

const state = (): LaunchState => ({
  registrationId: randomUUID(),
  tenant: 'cs101',
  nonce: randomUUID(),
  targetLinkUri: 'https://tool.example/lti/launch',
  createdAt: 1,
});

export function launchStateStoreContract(name: string, factory: LtiStoresFactory): void {
  describe(`LaunchStateStore contract: ${name}`, () => {
    it(
      'gives a state back once: a second take finds nothing',
      withFixture(factory, async ({ states }) => {
        const key = randomUUID();
        const value = state();
        await states.put(key, value, 600);
        expect(await states.take(key)).toEqual(value);
        expect(await states.take(key)).toBeUndefined();
      }),
    );
    it(
      'knows nothing of a state never put',
      withFixture(factory, async ({ states }) => {
        expect(await states.take(randomUUID())).toBeUndefined();
      }),
    );
    it(
      'forgets a state after its TTL',
      withFixture(factory, async ({ states, pass }) => {
        const key = randomUUID();
        await states.put(key, state(), 1);
        await pass(1_500);
        expect(await states.take(key)).toBeUndefined();
      }),
    );
    it(
      'of concurrent takes, exactly one gets the state',
      withFixture(factory, async ({ states }) => {
        const key = randomUUID();
        await states.put(key, state(), 600);
        const got = await Promise.all([states.take(key), states.take(key), states.take(key)]);
        expect(got.filter((g) => g !== undefined)).toHaveLength(1);
      }),
    );
  });
}

export function nonceLedgerContract(name: string, factory: LtiStoresFactory): void {
  describe(`NonceLedger contract: ${name}`, () => {
    it(
      'says true the first time a key is used, false after',
      withFixture(factory, async ({ nonces }) => {
        const key = `https://lms.example${randomUUID()}`;
        expect(await nonces.useOnce(key, 600)).toBe(true);
        expect(await nonces.useOnce(key, 600)).toBe(false);
        expect(await nonces.useOnce(`${key}x`, 600)).toBe(true);
      }),
    );
    it(
      'of concurrent uses, exactly one is first',
      withFixture(factory, async ({ nonces }) => {
        const key = randomUUID();
        const got = await Promise.all(Array.from({ length: 5 }, () => nonces.useOnce(key, 600)));
        expect(got.filter(Boolean)).toHaveLength(1);
      }),
    );
    it(
      'forgets a key after its TTL',
      withFixture(factory, async ({ nonces, pass }) => {
        const key = randomUUID();
        expect(await nonces.useOnce(key, 1)).toBe(true);
        await pass(1_500);
        expect(await nonces.useOnce(key, 1)).toBe(true);
      }),
    );
  });
}

export function ltiSessionStoreContract(name: string, factory: LtiStoresFactory): void {
  const session = (now: number, ttlMs: number): LtiSession => ({
    id: randomUUID(),
    tenant: 'cs101',
    registrationId: randomUUID(),
    deploymentId: 'd1',
    contextId: 'course-1',
    lmsUserId: 'u-1',
    role: 'instructor',
    lab: 'net-lab',
    csrf: randomUUID(),
    expiresAt: now + ttlMs,
    deepLinking: { returnUrl: 'https://lms.example/dl', data: 'opaque' },
  });
  describe(`LtiSessionStore contract: ${name}`, () => {
    it(
      'keeps a session until it is deleted',
      withFixture(factory, async ({ sessions, now }) => {
        const s = session(now(), 3_600_000);
        await sessions.put(s);
        expect(await sessions.get(s.id)).toEqual(s);
        await sessions.delete(s.id);
        expect(await sessions.get(s.id)).toBeUndefined();
        await sessions.delete(s.id);
      }),
    );
    it(
      'knows nothing of an unknown id',
      withFixture(factory, async ({ sessions }) => {
        expect(await sessions.get(randomUUID())).toBeUndefined();
      }),
    );
    it(
      'ends a session at its expiresAt',
      withFixture(factory, async ({ sessions, now, pass }) => {
        const s = session(now(), 1_000);
        await sessions.put(s);
        expect(await sessions.get(s.id)).toEqual(s);
        await pass(1_500);
        expect(await sessions.get(s.id)).toBeUndefined();
      }),
    );
  });
}

/** Every LTI store contract over one factory. */
export function ltiStoresContracts(name: string, factory: LtiStoresFactory): void {
  launchStateStoreContract(name, factory);
  nonceLedgerContract(name, factory);
  ltiSessionStoreContract(name, factory);
}
