import { describe, expect, it } from 'vitest';
import type { LabRecord } from '../../src/domain/labs/lab.js';
import { enrolledOf, phaseOf, summaryOf } from '../../src/domain/labs/lab-status.js';
import type { StudentStatus, StudentView } from '../../src/domain/labs/lab-view.js';
import { loadOpenApi } from '../../src/api/openapi-spec.js';

function students(...statuses: StudentStatus[]): StudentView[] {
  return statuses.map((status, i) => ({ id: `s${i}`, status, vm: `lab-s${i}` }));
}

/** Just what phaseOf reads of a lab: no deletion, no end. */
const LAB = { status: {}, deleting: false } as unknown as LabRecord;

describe('lab summary', () => {
  it('counts every listed student once in its status and once in total, dropped ones included', () => {
    const s = summaryOf(students('ready', 'ready', 'failed', 'pending', 'provisioning', 'dropped', 'dropped'));
    expect(s).toEqual({ total: 7, pending: 1, provisioning: 1, ready: 2, failed: 1, dropped: 2 });
    expect(s.total).toBe(s.pending + s.provisioning + s.ready + s.failed + s.dropped);
    expect(enrolledOf(s)).toBe(5);
  });

  it('a lab with only dropped students is Empty (the roster is total - dropped); ready ones with a dropped one are Ready', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    expect(phaseOf(LAB, summaryOf(students('dropped')), now)).toBe('Empty');
    expect(phaseOf(LAB, summaryOf(students('ready', 'dropped')), now)).toBe('Ready');
  });

  it('the contract says what total is', () => {
    const schema = (
      loadOpenApi().components as { schemas: Record<string, { description: string; properties: Record<string, { description?: string }> }> }
    ).schemas['LabSummary'];
    expect(schema?.description).toContain('total = pending + provisioning + ready + failed + dropped');
    expect(schema?.properties['total']?.description).toMatch(/dropped ones included/);
  });
});
