import { describe, expect, it } from 'vitest';
import { buildOrder } from '../../src/main/area.js';
import { AREAS } from '../../src/main/deps.js';

describe('the areas of the product', () => {
  it('need only areas that exist, none in a cycle; tenants come after webhooks and lti (tenant.delete removes their objects)', () => {
    const order = buildOrder(AREAS).map((a) => a.name);
    expect(order).toEqual([
      'webhooks',
      'lti',
      'tenants',
      'activity',
      'images',
      'vms',
      'snapshots',
      'vm-copies',
      'identity',
      'labs',
      'reimage',
      'usage',
      'autoShutdown',
      'ltiPages',
      'console',
    ]);
  });

  it('mount the API in the order GraphQL types and fields have always had', () => {
    expect(AREAS.map((a) => a.name)).toEqual([
      'tenants',
      'activity',
      'images',
      'vms',
      'snapshots',
      'vm-copies',
      'identity',
      'labs',
      'reimage',
      'usage',
      'webhooks',
      'autoShutdown',
      'lti',
      'ltiPages',
      'console',
    ]);
  });
});
