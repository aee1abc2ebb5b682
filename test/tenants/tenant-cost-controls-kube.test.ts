import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANN_COST_CONTROLS } from '../../src/adapters/kubernetes/tenant-objects.js';
import { DEFAULT_COST_CONTROLS } from '../../src/domain/usage/cost-controls.js';
import { tenantSpec } from '../contracts/tenant-repository.contract.js';
import { startKubeFixture, type KubeFixture } from '../kubernetes/support/kube-fixture.js';

let fx: KubeFixture;
beforeAll(async () => {
  fx = await startKubeFixture();
});
afterAll(async () => {
  await fx?.close();
});

/** Writes the annotation straight to the namespace, as someone with kubectl would. */
async function annotate(id: string, text: string): Promise<void> {
  const ns = (await fx.raw.get(`/api/v1/namespaces/${id}`)).body as { metadata: { annotations?: Record<string, string> } };
  ns.metadata.annotations = { ...ns.metadata.annotations, [ANN_COST_CONTROLS]: text };
  expect((await fx.raw.put(`/api/v1/namespaces/${id}`, ns)).status).toBe(200);
}

const malformedLines = () => fx.logger.lines.filter((l) => l.level === 'warn' && l.msg.includes('cost-control annotation is malformed'));

describe('a tenant’s cost controls in its namespace annotation', () => {
  it('are written as JSON, and a malformed annotation reads as none and is logged once', async () => {
    const spec = tenantSpec({ costControls: DEFAULT_COST_CONTROLS });
    await fx.repo.create(spec);
    const ns = (await fx.raw.get(`/api/v1/namespaces/${spec.id}`)).body as { metadata: { annotations: Record<string, string> } };
    expect(JSON.parse(ns.metadata.annotations[ANN_COST_CONTROLS] ?? '')).toEqual(DEFAULT_COST_CONTROLS);

    await annotate(spec.id, '{"warningPeriod": "PT5M"}');
    await expect
      .poll(async () => (await fx.repo.get(spec.id))?.version)
      .toBe(((await fx.raw.get(`/api/v1/namespaces/${spec.id}`)).body as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
    for (let i = 0; i < 3; i++) expect(await fx.repo.get(spec.id)).not.toHaveProperty('costControls');
    expect((await fx.repo.list()).find((t) => t.id === spec.id)).not.toHaveProperty('costControls');
    expect(malformedLines()).toEqual([
      expect.objectContaining({ obj: expect.objectContaining({ tenant: spec.id, problem: expect.stringContaining('/autoShutdown') }) }),
    ]);

    // Another bad text is news, and is logged once more.
    await annotate(spec.id, 'not json');
    await expect.poll(() => fx.repo.get(spec.id).then(() => malformedLines().length)).toBe(2);
    await fx.repo.get(spec.id);
    expect(malformedLines()).toHaveLength(2);
  });
});
