import type { JsonObject } from '../operations/operation.js';
import { PLATFORM, type ImageOwner, type ImageSource, type ImageSpec } from './image.js';
import { isStorageClass } from './image-rules.js';

/** Job kind that creates an image's DataVolume and follows its import to Ready or Failed. */
export const IMAGE_IMPORT_KIND = 'image.import';

/** The job input of an import: the spec as plain JSON (no secrets: an S3 source holds a Secret's name only). */
export function importInput(spec: ImageSpec): JsonObject {
  const source: JsonObject =
    spec.source.type === 's3'
      ? { type: 's3', url: spec.source.url, secretRef: { name: spec.source.secretRef.name } }
      : { type: spec.source.type, url: spec.source.url };
  return {
    scope: spec.owner.scope,
    ...(spec.owner.scope === 'tenant' ? { tenant: spec.owner.tenant } : {}),
    name: spec.name,
    displayName: spec.displayName,
    ...(spec.os === undefined ? {} : { os: spec.os }),
    source,
    sizeGi: spec.sizeGi,
    storageClass: spec.storageClass,
  };
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new TypeError(`image.import: input.${what} is missing`);
  return v;
}

function sourceOf(v: unknown): ImageSource {
  const s = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const url = str(s['url'], 'source.url');
  switch (s['type']) {
    case 'http':
    case 'registry':
      return { type: s['type'], url };
    case 's3': {
      const ref = (typeof s['secretRef'] === 'object' && s['secretRef'] !== null ? s['secretRef'] : {}) as Record<string, unknown>;
      return { type: 's3', url, secretRef: { name: str(ref['name'], 'source.secretRef.name') } };
    }
    default:
      throw new TypeError('image.import: input.source.type is not known');
  }
}

/** Reads back what `importInput` wrote; throws TypeError on a malformed input (a programming error). */
export function specFromInput(input: unknown, operationId?: string): ImageSpec {
  const i = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const owner: ImageOwner = i['scope'] === 'tenant' ? { scope: 'tenant', tenant: str(i['tenant'], 'tenant') } : PLATFORM;
  const storageClass = str(i['storageClass'], 'storageClass');
  if (!isStorageClass(storageClass)) throw new TypeError('image.import: input.storageClass is not allowed');
  const sizeGi = i['sizeGi'];
  if (typeof sizeGi !== 'number') throw new TypeError('image.import: input.sizeGi is missing');
  return {
    owner,
    name: str(i['name'], 'name'),
    displayName: str(i['displayName'], 'displayName'),
    ...(typeof i['os'] === 'string' ? { os: i['os'] } : {}),
    source: sourceOf(i['source']),
    sizeGi,
    storageClass,
    ...(operationId === undefined ? {} : { operationId }),
  };
}
