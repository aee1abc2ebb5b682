import { ValidationError, type FieldIssue } from '../shared/errors.js';
import type { OutboundScheme } from '../net/index.js';
import { DNS_LABEL } from '../shared/ids.js';
import { STORAGE_CLASSES, type ImagePhase, type ImageSource, type StorageClass } from './image.js';

/** Image names are DataVolume/PVC names and may be embedded in VM names: at most 54 characters. */
export const MAX_IMAGE_NAME_LENGTH = 54;
export const MAX_IMAGE_SIZE_GI = 2048;
export const MAX_DISPLAY_NAME_LENGTH = 200;
/** Importer pod restarts after which an import counts as failed (CDI itself retries forever). */
export const MAX_IMPORT_RESTARTS = 3;

export function imageNameIssues(name: string, field = '/name'): FieldIssue[] {
  if (name.length === 0 || name.length > MAX_IMAGE_NAME_LENGTH || !DNS_LABEL.test(name)) {
    return [
      {
        field,
        message: `must be a DNS label (lower-case letters, digits and '-', starting and ending alphanumeric) of 1-${MAX_IMAGE_NAME_LENGTH} characters`,
      },
    ];
  }
  return [];
}

export function isStorageClass(v: string): v is StorageClass {
  return (STORAGE_CLASSES as readonly string[]).includes(v);
}

const SECRET_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** URL schemes each source type accepts; any other is refused by the SSRF guard (422). */
export const SOURCE_SCHEMES: Readonly<Record<ImageSource['type'], readonly OutboundScheme[]>> = {
  http: ['https', 'http'],
  registry: ['docker'],
  s3: ['s3'],
};

/** Shape checks of an import request that do not need the network (the SSRF guard vets the URL next). */
export function importIssues(input: {
  readonly name: string;
  readonly displayName?: string;
  readonly sizeGi: number;
  readonly storageClass: string;
  readonly source: ImageSource;
}): FieldIssue[] {
  const issues = imageNameIssues(input.name);
  if (input.displayName !== undefined && (input.displayName.trim() === '' || input.displayName.length > MAX_DISPLAY_NAME_LENGTH)) {
    issues.push({ field: '/displayName', message: `must be 1-${MAX_DISPLAY_NAME_LENGTH} characters` });
  }
  if (!Number.isInteger(input.sizeGi) || input.sizeGi < 1 || input.sizeGi > MAX_IMAGE_SIZE_GI) {
    issues.push({ field: '/sizeGi', message: `must be a whole number of GiB, 1-${MAX_IMAGE_SIZE_GI}` });
  }
  if (!isStorageClass(input.storageClass)) {
    issues.push({ field: '/storageClass', message: `must be one of ${STORAGE_CLASSES.join(', ')}` });
  }
  const { source } = input;
  if (source.type === 's3' && (source.secretRef.name.length > 253 || !SECRET_NAME.test(source.secretRef.name))) {
    issues.push({ field: '/source/secretRef/name', message: 'must be the name of a Secret (DNS subdomain)' });
  }
  return issues;
}

export function assertImport(input: Parameters<typeof importIssues>[0]): void {
  const issues = importIssues(input);
  if (issues.length > 0) throw new ValidationError('The image import is not acceptable.', issues);
}

/** What CDI reports about a DataVolume. */
export interface ImportObservation {
  /** `status.phase`: Pending, ImportScheduled, ImportInProgress, Succeeded, Failed, ... */
  readonly phase?: string;
  /** `status.progress`: "45.2%" or "N/A". */
  readonly progress?: string;
  readonly restartCount?: number;
  readonly conditions: ReadonlyArray<{ readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }>;
}

/** Percent from CDI's `status.progress` ("45.2%" → 45.2); anything else (N/A, absent, junk) → undefined. */
export function parseProgress(progress: string | undefined): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(progress ?? '');
  if (m === null) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) ? Math.min(100, Math.max(0, v)) : undefined;
}

function failureText(obs: ImportObservation): string | undefined {
  const telling = obs.conditions.find((c) => c.message !== undefined && c.message !== '' && (c.type === 'Running' || c.status !== 'True'));
  const any = telling ?? obs.conditions.find((c) => c.message !== undefined && c.message !== '');
  if (any === undefined) return undefined;
  return any.reason === undefined || any.reason === '' ? any.message : `${any.reason}: ${any.message ?? ''}`;
}

/**
 * The image's phase from CDI's view: Succeeded → Ready (100 %); Failed → Failed; an importer that
 * restarted `MAX_IMPORT_RESTARTS` times → Failed; anything else → Importing with the parsed progress.
 */
export function deriveImport(obs: ImportObservation): { phase: ImagePhase; progress: number; failureReason?: string } {
  const progress = parseProgress(obs.progress) ?? 0;
  if (obs.phase === 'Succeeded') return { phase: 'Ready', progress: 100 };
  if (obs.phase === 'Failed') {
    return { phase: 'Failed', progress, failureReason: failureText(obs) ?? 'The import failed (CDI reported phase Failed).' };
  }
  const restarts = obs.restartCount ?? 0;
  if (restarts >= MAX_IMPORT_RESTARTS) {
    const why = failureText(obs);
    return {
      phase: 'Failed',
      progress,
      failureReason: `The importer pod restarted ${restarts} times${why === undefined ? '' : ` (${why})`}.`,
    };
  }
  return { phase: 'Importing', progress };
}
