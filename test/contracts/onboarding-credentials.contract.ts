import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OnboardingCredentials } from '../../src/domain/identity/onboarding.js';

export interface OnboardingContractFixture {
  readonly credentials: OnboardingCredentials;
  /** The backend's clock, epoch ms. */
  now(): number;
  cleanup(): Promise<void>;
}

export function onboardingCredentialsContract(name: string, makeFixture: () => Promise<OnboardingContractFixture>): void {
  describe(`OnboardingCredentials contract: ${name}`, () => {
    let fx: OnboardingContractFixture;
    beforeEach(async () => {
      fx = await makeFixture();
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    it('mints a single-line bearer token that stays valid for at least 10 minutes', async () => {
      const { token, expiresOn } = await fx.credentials.mintAccessToken();
      expect(token).toMatch(/^\S{8,}$/);
      expect(expiresOn.getTime() - fx.now()).toBeGreaterThanOrEqual(10 * 60_000);
    });

    it('answers only the token and its expiry', async () => {
      expect(Object.keys(await fx.credentials.mintAccessToken()).sort()).toEqual(['expiresOn', 'token']);
    });
  });
}
