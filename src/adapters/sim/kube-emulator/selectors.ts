import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';
import { isObject } from './types.js';

type Requirement =
  | { op: 'exists' | 'notexists'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'gt' | 'lt'; key: string; value: number };

/** A compiled selector: returns true when the object matches. */
export type Matcher = (obj: KubeObject) => boolean;

const KEY = String.raw`(?:[A-Za-z0-9][-A-Za-z0-9.]*/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const EXISTS = new RegExp(`^(${KEY})$`);
const NOT_EXISTS = new RegExp(`^!\\s*(${KEY})$`);
const EQUALITY = new RegExp(`^(${KEY})\\s*(==|!=|=)\\s*(${VALUE})$`);
const SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`);
const NUMERIC = new RegExp(`^(${KEY})\\s*([<>])\\s*(-?\\d+)$`);
const VALUE_ONLY = new RegExp(`^${VALUE}$`);

/** Splits on commas that are not inside parentheses. */
function splitTopLevel(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of input) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts.map((p) => p.trim());
}

function parseRequirement(part: string): Requirement {
  let m = NOT_EXISTS.exec(part);
  if (m?.[1]) return { op: 'notexists', key: m[1] };
  m = SET.exec(part);
  if (m?.[1] && m[2] && m[3] !== undefined) {
    const values = m[3].split(',').map((v) => v.trim());
    if (values.some((v) => !VALUE_ONLY.test(v))) throw badRequest(`unable to parse requirement: invalid value in "${part}"`);
    return { op: m[2] === 'in' ? 'in' : 'notin', key: m[1], values };
  }
  m = EQUALITY.exec(part);
  if (m?.[1] && m[2] && m[3] !== undefined) return { op: m[2] === '!=' ? 'notin' : 'in', key: m[1], values: [m[3]] };
  m = NUMERIC.exec(part);
  if (m?.[1] && m[2] && m[3]) return { op: m[2] === '>' ? 'gt' : 'lt', key: m[1], value: Number(m[3]) };
  m = EXISTS.exec(part);
  if (m?.[1]) return { op: 'exists', key: m[1] };
  throw badRequest(`unable to parse requirement: found '${part}', expected: key, !key, key=value, key!=value, key in (...), key notin (...)`);
}

function matches(req: Requirement, labels: Record<string, string>): boolean {
  const has = Object.hasOwn(labels, req.key);
  const value = labels[req.key];
  switch (req.op) {
    case 'exists':
      return has;
    case 'notexists':
      return !has;
    case 'in':
      return has && value !== undefined && req.values.includes(value);
    case 'notin':
      return !has || value === undefined || !req.values.includes(value);
    case 'gt':
    case 'lt': {
      const n = Number(value);
      if (!has || !Number.isInteger(n)) return false;
      return req.op === 'gt' ? n > req.value : n < req.value;
    }
  }
}

/** Compiles a `labelSelector` (=, ==, !=, in, notin, exists, !exists, >, <); throws 400 BadRequest if malformed. */
export function parseLabelSelector(selector: string | undefined): Matcher | undefined {
  if (selector === undefined || selector.trim() === '') return undefined;
  const reqs = splitTopLevel(selector).map(parseRequirement);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return reqs.every((r) => matches(r, labels));
  };
}

const COMMON_FIELDS = ['metadata.name', 'metadata.namespace'];
const EXTRA_FIELDS: Record<string, string[]> = {
  pods: ['spec.nodeName', 'status.phase', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName'],
  namespaces: ['status.phase'],
  secrets: ['type'],
  nodes: ['spec.unschedulable'],
};

function readPath(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const seg of path.split('.')) {
    if (!isObject(cur)) return '';
    cur = cur[seg];
  }
  return cur === undefined || cur === null ? '' : String(cur);
}

/**
 * Compiles a `fieldSelector` (`=`, `==`, `!=`). `metadata.name` and `metadata.namespace` are supported
 * everywhere, plus the few fields real servers index for some resources; others answer 400 BadRequest.
 */
export function parseFieldSelector(selector: string | undefined, resourceKey: string): Matcher | undefined {
  if (selector === undefined || selector.trim() === '') return undefined;
  const allowed = [...COMMON_FIELDS, ...(EXTRA_FIELDS[resourceKey] ?? [])];
  const reqs = splitTopLevel(selector).map((part) => {
    const m = /^([A-Za-z0-9.]+)\s*(==|!=|=)\s*(.*)$/.exec(part);
    if (!m?.[1] || !m[2] || m[3] === undefined) throw badRequest(`invalid selector: '${part}'; can't understand '${part}'`);
    if (!allowed.includes(m[1])) {
      throw badRequest(`field label not supported: ${m[1]}`);
    }
    return { field: m[1], negate: m[2] === '!=', value: m[3] };
  });
  return (obj) => reqs.every((r) => (readPath(obj, r.field) === r.value) !== r.negate);
}

/** Combines optional matchers into one (undefined when there is none). */
export function allOf(...matchers: (Matcher | undefined)[]): Matcher | undefined {
  const present = matchers.filter((m): m is Matcher => m !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (obj) => present.every((m) => m(obj));
}
