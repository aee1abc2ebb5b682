import { describe, expect, it } from 'vitest';
import { loadContract } from '../support/contract.js';

const contract = loadContract();

/** Every example of the contract: each schema's `examples` and each request or response body's named examples. */
function examples(): Array<[string, object, unknown]> {
  const out: Array<[string, object, unknown]> = [];
  const schemas = (contract.doc.components as { schemas?: Record<string, { examples?: unknown[] }> }).schemas ?? {};
  for (const [name, schema] of Object.entries(schemas)) {
    (schema.examples ?? []).forEach((value, i) => out.push([`schema ${name} #${i}`, { $ref: `#/components/schemas/${name}` }, value]));
  }
  for (const { operationId } of contract.operations) {
    const op = contract.operation(operationId);
    const bodies: Array<[string, unknown]> = [['request', op['requestBody']], ...Object.entries((op['responses'] ?? {}) as Record<string, unknown>)];
    for (const [where, body] of bodies) {
      const content = (contract.deref<{ content?: Record<string, { schema?: object; examples?: Record<string, { value: unknown }> }> } | undefined>(
        body,
      )?.content ?? {}) as Record<string, { schema?: object; examples?: Record<string, { value: unknown }> }>;
      for (const [type, media] of Object.entries(content)) {
        for (const [name, ex] of Object.entries(media.examples ?? {}))
          out.push([`${operationId} ${where} ${type} ${name}`, media.schema ?? {}, ex.value]);
      }
    }
  }
  return out;
}

describe('OpenAPI examples', () => {
  const all = examples();

  it('are found (the cost-control schemas and the added-hours route have them)', () => {
    expect(all.map(([where]) => where)).toEqual(
      expect.arrayContaining([
        'schema LabCostControls #0',
        'schema AutoShutdownProfile #0',
        'addLabUsageHours request application/json twoHours',
        'addLabUsageHours 200 application/json added',
      ]),
    );
  });

  it.each(all)('%s validates against its schema', (_where, schema, value) => {
    const validate = contract.validator(schema);
    expect(validate(value), JSON.stringify(validate.errors)).toBe(true);
  });

  it("every JSON request and response body has one (its schema's or its own), problem+json included", () => {
    const missing: string[] = [];
    for (const { operationId } of contract.operations) {
      const op = contract.operation(operationId);
      const bodies: Array<[string, unknown]> = [
        ['request', op['requestBody']],
        ...Object.entries((op['responses'] ?? {}) as Record<string, unknown>),
      ];
      for (const [where, body] of bodies) {
        const content =
          contract.deref<{ content?: Record<string, { schema?: unknown; examples?: object; example?: unknown }> } | undefined>(body)?.content ?? {};
        for (const [type, media] of Object.entries(content)) {
          if (!type.includes('json')) continue;
          const schema = contract.deref<{ examples?: unknown[]; additionalProperties?: unknown; properties?: unknown }>(media.schema);
          // The contract itself (GET /openapi.json) and GraphQL answers are free-form objects.
          if (schema?.properties === undefined && schema?.additionalProperties === true) continue;
          if (media.examples === undefined && media.example === undefined && (schema?.examples ?? []).length === 0)
            missing.push(`${operationId} ${where} ${type}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('the validator does refuse a wrong example (the check can fail)', () => {
    expect(contract.validator({ $ref: '#/components/schemas/UsageHoursAdd' })({ hours: '2' })).toBe(false);
  });
});
