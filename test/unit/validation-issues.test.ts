import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { loadOpenApi } from '../../src/api/openapi-spec.js';
import { validationIssues } from '../../src/api/problem.js';

/**
 * Ajv as the API validates bodies (every error), with the contract's components at `spec`. One
 * instance for the file: adding the whole contract costs far more than compiling one schema of it.
 */
let ajv: Ajv | undefined;
function bodyValidator(schema: string) {
  if (ajv === undefined) {
    ajv = new Ajv({ allErrors: true, strict: false });
    const components = JSON.parse(JSON.stringify(loadOpenApi().components).replaceAll('"#/components/', '"spec#/components/'));
    ajv.addSchema({ components }, 'spec');
  }
  return ajv.getSchema(`spec#/components/schemas/${schema}`) ?? ajv.compile({ $ref: `spec#/components/schemas/${schema}` });
}

function issuesOf(schema: string, body: unknown, context = 'body') {
  const validate = bodyValidator(schema);
  expect(validate(body)).toBe(false);
  return validationIssues(context, validate.errors ?? []);
}

describe('field issues of a request that fails the contract', () => {
  it('name body fields by a JSON Pointer relative to the body, with no location prefix', () => {
    const issues = issuesOf('TenantCreate', { id: 'ok-id', displayName: 'x', profile: 'nope', namespace: 'kube-system' });
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: '/namespace', message: 'is not a known field' },
        { field: '/profile', message: expect.stringMatching(/^must be one of: /) },
      ]),
    );
    for (const i of issues) expect(i).not.toHaveProperty('in');
  });

  it('list a failed oneOf once per field: no summary entry, branch refusals of one field merged', () => {
    const issues = issuesOf('ImageSourceInput', { type: 'ftp', url: 'ftp://x' });
    const fields = issues.map((i) => i.field);
    expect(new Set(fields).size).toBe(fields.length);
    expect(issues).not.toContainEqual(expect.objectContaining({ message: expect.stringContaining('oneOf') }));
    expect(issues).toContainEqual({ field: '/type', message: 'must be one of: http, registry, s3' });
  });

  it('list a failed if/else once: a VM without Arc and without keys is one /sshPublicKeys issue; with Arc on it needs none', () => {
    const vm = { name: 'web-1', image: { scope: 'platform', name: 'ubuntu-24-04' }, diskGi: 10, storageClass: 'kv-standard' };
    expect(issuesOf('VmCreate', vm)).toEqual([{ field: '/sshPublicKeys', message: "must have required property 'sshPublicKeys'" }]);
    expect(issuesOf('VmCreate', { ...vm, arc: false, sshPublicKeys: [] })).toEqual([
      { field: '/sshPublicKeys', message: 'must NOT have fewer than 1 items' },
    ]);
    expect(bodyValidator('VmCreate')({ ...vm, arc: true })).toBe(true);
  });

  it('keep a oneOf refusal when no branch names a field (the value matched several)', () => {
    const issues = validationIssues('body', [
      { instancePath: '/course', keyword: 'oneOf', message: 'must match exactly one schema in oneOf', params: {} },
    ]);
    expect(issues).toEqual([{ field: '/course', message: 'must match exactly one schema in oneOf' }]);
  });

  it('escape ~ and / in property names (RFC 6901) and call the whole body /', () => {
    const issues = validationIssues('body', [
      { instancePath: '', keyword: 'additionalProperties', message: 'x', params: { additionalProperty: 'a/b~c' } },
      { instancePath: '', keyword: 'type', message: 'must be object', params: {} },
    ]);
    expect(issues).toEqual([
      { field: '/a~1b~0c', message: 'is not a known field' },
      { field: '/', message: 'must be object' },
    ]);
  });

  it('name query, path and header parameters by pointer and say where they are', () => {
    const at = (context: string) =>
      validationIssues(context, [{ instancePath: '/limit', keyword: 'maximum', message: 'must be <= 500', params: {} }]);
    expect(at('querystring')).toEqual([{ field: '/limit', in: 'query', message: 'must be <= 500' }]);
    expect(at('params')).toEqual([{ field: '/limit', in: 'path', message: 'must be <= 500' }]);
    expect(at('headers')).toEqual([{ field: '/limit', in: 'header', message: 'must be <= 500' }]);
  });
});
