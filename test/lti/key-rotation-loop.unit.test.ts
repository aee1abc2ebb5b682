import { describe, expect, it } from 'vitest';
import { createLtiKeyRotation } from '../../src/jobs/lti-key-rotation.js';
import { loadConfig } from '../../src/main/config.js';
import { configError } from '../support/config-error.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => silent } as never;

describe('the leader loop rotating the LTI tool key', () => {
  it('asks for a rotation when the key is LTI_KEY_ROTATION_DAYS old, and survives a failure', async () => {
    const asked: number[] = [];
    let fail = true;
    const loop = createLtiKeyRotation({
      keys: {
        async rotateIfDue(maxAgeMs) {
          asked.push(maxAgeMs);
          if (fail) {
            fail = false;
            throw new Error('API server unavailable');
          }
          return true;
        },
      },
      rotationDays: 30,
      logger: silent,
    });
    await loop.tick();
    await loop.tick();
    expect(asked).toEqual([30 * 86_400_000, 30 * 86_400_000]);
  });
});

describe('LTI_KEY_ROTATION_DAYS', () => {
  it('defaults to 90 and takes whole days 1-3650', () => {
    expect(loadConfig({}).lti.keyRotationDays).toBe(90);
    expect(loadConfig({ LTI_KEY_ROTATION_DAYS: '30' }).lti.keyRotationDays).toBe(30);
    expect(configError({ LTI_KEY_ROTATION_DAYS: '0' })).toMatchObject({ setting: 'LTI_KEY_ROTATION_DAYS' });
    expect(configError({ LTI_KEY_ROTATION_DAYS: '1.5' })).toMatchObject({ setting: 'LTI_KEY_ROTATION_DAYS' });
  });

  it('http platforms are accepted only with the simulated cluster', () => {
    expect(loadConfig({}).lti.allowHttpPlatforms).toBe(true);
  });
});
