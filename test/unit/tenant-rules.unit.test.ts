import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/domain/shared/errors.js';
import { uuidV5 } from '../../src/domain/shared/ids.js';
import { decodeCursor, encodeCursor, pageByKey } from '../../src/domain/shared/page.js';
import { quotaShortfalls, resolveLimits, tenantIdIssues } from '../../src/domain/tenants/tenant-rules.js';
import { DEFAULT_PLATFORM_MAXIMA, PROFILE_DEFAULTS } from '../../src/domain/tenants/tenant.js';

describe('tenant ids', () => {
  it.each(['cs101', 'a', 'bio-200-fall', '9lives'])('accepts %s', (id) => {
    expect(tenantIdIssues(id)).toEqual([]);
  });
  it.each([
    'default',
    'kube-system',
    'kube-public',
    'labplane-system',
    'kubevirt',
    'azure-arc',
    'Upper',
    '-lead',
    'trail-',
    'a_b',
    '',
    'x'.repeat(41),
  ])('refuses %s', (id) => {
    expect(tenantIdIssues(id)).toHaveLength(1);
  });
});

describe('quota resolution', () => {
  it('fills what is not given from the profile defaults', () => {
    const r = resolveLimits(PROFILE_DEFAULTS.student, DEFAULT_PLATFORM_MAXIMA, { requestsCpu: 4 }, undefined);
    expect(r.quota).toEqual({ ...PROFILE_DEFAULTS.student.quota, requestsCpu: 4 });
    expect(r.vmCaps).toEqual({ maxCpu: 2, maxMemoryGi: 4 });
  });

  it('refuses figures above the platform maxima and lists each field', () => {
    try {
      resolveLimits(PROFILE_DEFAULTS.student, DEFAULT_PLATFORM_MAXIMA, { requestsCpu: 100000, storageGi: 1e9 }, { maxCpu: 1000 });
      expect.fail('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.field).sort()).toEqual([
        '/quota/limitsCpu',
        '/quota/requestsCpu',
        '/quota/storageGi',
        '/vmCaps/maxCpu',
      ]);
    }
  });

  it('refuses limits below requests and CPU finer than a millicore', () => {
    expect(() => resolveLimits(PROFILE_DEFAULTS.student, DEFAULT_PLATFORM_MAXIMA, { limitsCpu: 1, requestsCpu: 2 }, undefined)).toThrow(
      ValidationError,
    );
    expect(() => resolveLimits(PROFILE_DEFAULTS.student, DEFAULT_PLATFORM_MAXIMA, { requestsCpu: 0.0001 }, undefined)).toThrow(ValidationError);
  });

  it('reports each quota entry that would fall below usage, with both figures', () => {
    const used = { ...PROFILE_DEFAULTS.student.quota, requestsCpu: 6, virtualMachines: 3 };
    const quota = { ...PROFILE_DEFAULTS.student.quota, requestsCpu: 4, virtualMachines: 2 };
    expect(quotaShortfalls(quota, used)).toEqual([
      { resource: 'requestsCpu', requested: 4, used: 6 },
      { resource: 'virtualMachines', requested: 2, used: 3 },
    ]);
  });
});

describe('ids and pages', () => {
  it('computes RFC 9562 UUIDv5 (known vector)', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('pages by key, and a cursor resumes after the last item even when items were removed', () => {
    const all = ['a', 'b', 'c', 'd', 'e'];
    const p1 = pageByKey(all, (x) => x, { limit: 2 });
    expect(p1.items).toEqual(['a', 'b']);
    const p2 = pageByKey(
      all.filter((x) => x !== 'b'),
      (x) => x,
      { limit: 2, cursor: p1.nextCursor as string },
    );
    expect(p2.items).toEqual(['c', 'd']);
    const p3 = pageByKey(all, (x) => x, { limit: 2, cursor: p2.nextCursor as string });
    expect(p3).toEqual({ items: ['e'] });
  });

  it('refuses a forged cursor with a validation error', () => {
    expect(() => decodeCursor('not-a-cursor')).toThrow(ValidationError);
    expect(decodeCursor(encodeCursor('k'))).toBe('k');
  });
});
