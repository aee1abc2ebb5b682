import { parse as parseYaml } from 'yaml';
import { badRequest, KubeStatusError, unsupportedMediaType } from './errors.js';
import { clone, isObject } from './types.js';

/** Patch content types the emulator accepts. */
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Maps a request Content-Type to a patch type; 415 for anything else. */
export function patchTypeOf(contentType: string | undefined): PatchType {
  const mt = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  switch (mt) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    default:
      throw unsupportedMediaType(mt);
  }
}

/** 422 the way a real server answers a JSON patch that cannot be applied. */
function patchFailed(message: string): KubeStatusError {
  return new KubeStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    message: 'the server rejected our request due to an error in our request',
    details: { causes: [{ reason: 'UnexpectedServerResponse', message }] },
  });
}

/** RFC 7386 JSON merge patch (also used for strategic merge patch: lists are replaced). */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchFailed(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, segs: string[], path: string): { parent: Container; key: string } {
  let cur: unknown = doc;
  for (const s of segs.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (cur === undefined) throw patchFailed(`doc is missing path: "${path}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw patchFailed(`doc is missing path: "${path}": missing value`);
  return { parent: cur, key: segs[segs.length - 1] ?? '' };
}

function index(arr: unknown[], key: string, path: string, forAdd: boolean): number {
  if (forAdd && key === '-') return arr.length;
  const i = Number(key);
  const max = forAdd ? arr.length : arr.length - 1;
  if (!/^\d+$/.test(key) || i > max) throw patchFailed(`Unable to access invalid index: ${key} at "${path}"`);
  return i;
}

function getAt(doc: unknown, path: string): unknown {
  let cur: unknown = doc;
  for (const s of parsePointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (cur === undefined) throw patchFailed(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function addAt(doc: unknown, path: string, value: unknown): unknown {
  const segs = parsePointer(path);
  if (segs.length === 0) return clone(value);
  const { parent, key } = resolveParent(doc, segs, path);
  if (Array.isArray(parent)) parent.splice(index(parent, key, path, true), 0, clone(value));
  else parent[key] = clone(value);
  return doc;
}

function removeAt(doc: unknown, path: string): unknown {
  const segs = parsePointer(path);
  const { parent, key } = resolveParent(doc, segs, path);
  if (Array.isArray(parent)) return parent.splice(index(parent, key, path, false), 1)[0];
  if (!Object.hasOwn(parent, key)) throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`);
  const old = parent[key];
  delete parent[key];
  return old;
}

function replaceAt(doc: unknown, path: string, value: unknown): unknown {
  const segs = parsePointer(path);
  if (segs.length === 0) return clone(value);
  getAt(doc, path);
  const { parent, key } = resolveParent(doc, segs, path);
  if (Array.isArray(parent)) parent[index(parent, key, path, false)] = clone(value);
  else parent[key] = clone(value);
  return doc;
}

/** RFC 6902 JSON patch; failures answer 422 like a real server. */
export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw badRequest('invalid JSON patch operation');
    const { op, path } = raw;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, raw.value);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace':
        doc = replaceAt(doc, path, raw.value);
        break;
      case 'move': {
        const from = String(raw.from ?? '');
        doc = addAt(doc, path, removeAt(doc, from));
        break;
      }
      case 'copy':
        doc = addAt(doc, path, getAt(doc, String(raw.from ?? '')));
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, path)) !== JSON.stringify(raw.value)) throw patchFailed(`testing value ${path} failed: test failed`);
        break;
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

/** Parses a patch body for its type (YAML for apply, JSON otherwise); 400 when malformed. */
export function parsePatchBody(type: PatchType, text: string): unknown {
  try {
    return type === 'apply' ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw badRequest(`error decoding patch: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Applies a parsed patch to the current object (`undefined` for apply-create). */
export function applyPatch(type: PatchType, current: unknown, patch: unknown): unknown {
  if (type === 'json') return jsonPatch(current, patch);
  if (!isObject(patch)) throw badRequest('patch body must be a JSON object');
  return mergePatch(current ?? {}, patch);
}
