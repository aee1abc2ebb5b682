import { describe, expect, it } from 'vitest';
import {
  deriveImport,
  imageNameIssues,
  importInput,
  MAX_IMPORT_RESTARTS,
  parseProgress,
  specFromInput,
  type Image,
  type ImageSpec,
} from '../../src/domain/images/index.js';
import { newOperationRecord } from '../../src/domain/operations/operation-lifecycle.js';
import { UnprocessableError, type ConflictError } from '../../src/domain/shared/errors.js';
import type { StepContext } from '../../src/jobs/job-kind.js';
import { imageImportJob } from '../../src/jobs/kinds/image-import.js';

const SPEC: ImageSpec = {
  owner: { scope: 'tenant', tenant: 'lab1' },
  name: 'fedora-40',
  displayName: 'Fedora 40',
  source: { type: 's3', url: 's3://bucket/f40.img', secretRef: { name: 'creds' } },
  sizeGi: 8,
  storageClass: 'kv-standard',
};

describe('image rules', () => {
  it('parses CDI progress strings, and anything else as unknown', () => {
    expect(parseProgress('45.2%')).toBe(45.2);
    expect(parseProgress('100.0%')).toBe(100);
    expect(parseProgress('0%')).toBe(0);
    for (const junk of ['N/A', '', undefined, '45.2', '-3%', 'abc%', '1e3%']) expect(parseProgress(junk)).toBeUndefined();
    expect(parseProgress('250%')).toBe(100);
  });

  it('derives Ready, Failed (phase or repeated importer restarts) and Importing from what CDI reports', () => {
    expect(deriveImport({ phase: 'Succeeded', progress: '99.1%', conditions: [] })).toEqual({ phase: 'Ready', progress: 100 });
    expect(deriveImport({ phase: 'ImportInProgress', progress: '37.5%', conditions: [] })).toEqual({ phase: 'Importing', progress: 37.5 });
    expect(deriveImport({ phase: 'Pending', progress: 'N/A', conditions: [] })).toEqual({ phase: 'Importing', progress: 0 });
    const failed = deriveImport({
      phase: 'Failed',
      progress: '30.00%',
      conditions: [
        { type: 'Ready', status: 'False', reason: 'Error', message: 'got 404' },
        { type: 'Bound', status: 'True', reason: 'Bound' },
      ],
    });
    expect(failed).toMatchObject({ phase: 'Failed', progress: 30 });
    expect(failed.failureReason).toContain('got 404');
    const crashing = {
      phase: 'ImportInProgress',
      progress: 'N/A',
      conditions: [{ type: 'Running', status: 'False', reason: 'Error', message: 'qemu-img failed' }],
    };
    expect(deriveImport({ ...crashing, restartCount: MAX_IMPORT_RESTARTS - 1 }).phase).toBe('Importing');
    const gaveUp = deriveImport({ ...crashing, restartCount: MAX_IMPORT_RESTARTS });
    expect(gaveUp.phase).toBe('Failed');
    expect(gaveUp.failureReason).toMatch(/restarted 3 times.*qemu-img failed/);
  });

  it('image names are DNS labels of at most 54 characters', () => {
    expect(imageNameIssues('a'.repeat(54))).toEqual([]);
    expect(imageNameIssues('a'.repeat(55))).toHaveLength(1);
    for (const bad of ['', 'Ubuntu', '-x', 'x-', 'a.b', 'a_b']) expect(imageNameIssues(bad)).toHaveLength(1);
  });

  it('the job input round-trips the spec and holds the S3 secret name only', () => {
    const input = importInput(SPEC);
    expect(JSON.parse(JSON.stringify(input))).toEqual(input);
    expect(specFromInput(input, 'op-9')).toEqual({ ...SPEC, operationId: 'op-9' });
    expect(() => specFromInput({ ...input, storageClass: 'premium' })).toThrow(TypeError);
  });
});

function image(extra: Partial<Image>): Image {
  return {
    scope: 'tenant',
    tenant: 'lab1',
    name: SPEC.name,
    displayName: 'x',
    source: SPEC.source,
    sizeGi: 8,
    storageClass: 'kv-standard',
    phase: 'Importing',
    progress: 0,
    importRestarts: 0,
    operationId: 'op-1',
    createdAt: new Date(0).toISOString(),
    ...extra,
  };
}

function ctx(step: string, percent = 0): StepContext {
  const record = newOperationRecord(
    {
      id: 'op-1',
      kind: 'image.import',
      tenant: 'lab1',
      target: { type: 'image', id: 'x' },
      createdBy: 'u',
      input: importInput(SPEC),
      firstStep: 'create-datavolume',
    },
    new Date(),
  );
  const operation = { ...record, progress: { ...record.progress, percent } };
  return { operation, step, attempt: 1, signal: new AbortController().signal, report: () => Promise.resolve() };
}

describe('image.import job kind', () => {
  it('creates the DataVolume with the operation id on it, then follows the import', async () => {
    const created: ImageSpec[] = [];
    const job = imageImportJob({
      repo: { create: (s) => (created.push(s), Promise.resolve(image({}))), get: () => Promise.resolve(undefined) },
      followIntervalMs: 2000,
    });
    const out = await job.steps['create-datavolume']?.(ctx('create-datavolume'));
    expect(out).toMatchObject({ type: 'next', step: 'follow-import' });
    expect(created[0]).toMatchObject({ name: SPEC.name, operationId: 'op-1' });
  });

  it('re-checks every interval with the import progress (never going backwards), and is done when the image is Ready', async () => {
    let current = image({ progress: 42.5 });
    const job = imageImportJob({ repo: { create: () => Promise.resolve(current), get: () => Promise.resolve(current) }, followIntervalMs: 2000 });
    const follow = job.steps['follow-import'];
    expect(await follow?.(ctx('follow-import'))).toEqual({ type: 'recheck', delayMs: 2000, progress: 42.5 });
    current = image({ progress: 3 });
    expect(await follow?.(ctx('follow-import', 60))).toEqual({ type: 'recheck', delayMs: 2000, progress: 60 });
    current = image({ phase: 'Ready', progress: 100 });
    expect(await follow?.(ctx('follow-import'))).toMatchObject({ type: 'done', result: { image: SPEC.name, phase: 'Ready' } });
  });

  it('fails at once with CDI’s reason when the import failed, or when the image was deleted or taken over', async () => {
    let current: Image | undefined = image({ phase: 'Failed', failureReason: 'Error: got 404' });
    const job = imageImportJob({ repo: { create: () => Promise.reject(new Error('unused')), get: () => Promise.resolve(current) } });
    const follow = job.steps['follow-import'];
    const failed = await follow?.(ctx('follow-import')).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(UnprocessableError);
    expect((failed as UnprocessableError).code).toBe('IMAGE_IMPORT_FAILED');
    expect((failed as UnprocessableError).message).toContain('got 404');
    current = undefined;
    expect(((await follow?.(ctx('follow-import')).catch((e: unknown) => e)) as ConflictError).code).toBe('IMAGE_DELETED');
    current = image({ operationId: 'someone-else' });
    expect(((await follow?.(ctx('follow-import')).catch((e: unknown) => e)) as ConflictError).code).toBe('IMAGE_EXISTS');
  });
});
