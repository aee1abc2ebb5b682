import type { ExtensionState } from '../../domain/identity/arc-machine.js';
import { ValidationError } from '../../domain/shared/errors.js';

/**
 * What `ArcMachinesPort.pollExtension` needs to follow an extension install: the machine and
 * extension it belongs to, the SDK poller's own serialized state (`poller.toString()`: the polling
 * URLs ARM gave, never a token or a request body), and the outcome once known.
 */
export interface ArmExtensionResumeState {
  readonly v: 1;
  readonly kind: 'arm-lro';
  readonly machine: string;
  readonly extension: string;
  /** `poller.toString()` of `@azure/core-lro`; absent once `done`. */
  readonly poller?: string;
  readonly done?: { readonly status: Exclude<ExtensionState, 'InProgress'>; readonly error?: string };
}

export function encodeResumeState(state: ArmExtensionResumeState): string {
  return JSON.stringify(state);
}

function invalid(why: string): ValidationError {
  return new ValidationError(`The extension resume state is not usable: ${why}.`, [{ field: 'resumeState', message: why }]);
}

/**
 * Parses a resume state and checks it belongs to this machine and extension, and that every URL the
 * SDK would call on resume lies on `endpoint` (so a tampered job cannot send our bearer token elsewhere).
 */
export function decodeResumeState(raw: string, machine: string, extension: string, endpoint: string): ArmExtensionResumeState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw invalid('not JSON');
  }
  const s = parsed as Partial<ArmExtensionResumeState> | null;
  if (s === null || typeof s !== 'object' || s.v !== 1 || s.kind !== 'arm-lro') throw invalid('not issued by the ARM adapter');
  if (s.machine?.toLowerCase() !== machine.toLowerCase() || s.extension?.toLowerCase() !== extension.toLowerCase()) {
    throw invalid('issued for another machine or extension');
  }
  if (s.done !== undefined) return s as ArmExtensionResumeState;
  if (typeof s.poller !== 'string') throw invalid('no poller state');
  const origin = new URL(endpoint).origin;
  for (const url of pollerUrls(s.poller)) {
    if (url.startsWith('/')) continue;
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      throw invalid('a polling URL is malformed');
    }
    if (target.origin !== origin) throw invalid('a polling URL points outside Azure Resource Manager');
  }
  return s as ArmExtensionResumeState;
}

function pollerUrls(poller: string): string[] {
  let state: unknown;
  try {
    state = (JSON.parse(poller) as { state?: unknown }).state;
  } catch {
    throw invalid('the poller state is not JSON');
  }
  const config = (state as { config?: Record<string, unknown> } | undefined)?.config;
  if (config === undefined || typeof config !== 'object') throw invalid('the poller state has no configuration');
  return ['operationLocation', 'resourceLocation'].flatMap((k) => (typeof config[k] === 'string' ? [config[k]] : []));
}
