import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/main/config.js';
import { configError } from '../support/config-error.js';

describe('CONTROL_NAMESPACE', () => {
  it('defaults to labplane-system outside a cluster and takes a namespace name', () => {
    expect(loadConfig({}).controlNamespace).toBe('labplane-system');
    expect(loadConfig({ CONTROL_NAMESPACE: 'lp-ops' }).controlNamespace).toBe('lp-ops');
  });

  it('refuses what is not a namespace name', () => {
    expect(configError({ CONTROL_NAMESPACE: 'Not_A_Namespace' })).toMatchObject({ setting: 'CONTROL_NAMESPACE' });
  });
});
