import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { ResourceRequestInfo } from '../../src/adapters/sim/kube-emulator/index.js';

/** A PolicyRule as written in a Role or ClusterRole. */
export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface RbacObject {
  apiVersion: string;
  kind: 'ClusterRole' | 'Role' | 'ClusterRoleBinding' | 'RoleBinding';
  metadata: { name: string; namespace?: string };
  rules?: PolicyRule[];
  roleRef?: { apiGroup: string; kind: 'ClusterRole' | 'Role'; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string; apiGroup?: string }>;
}

/** Who the control plane is. */
export interface ServiceAccountRef {
  readonly name: string;
  readonly namespace: string;
}

/** Parses the RBAC objects of a kustomization folder (its `resources` files, in order). */
export function loadRbacManifests(dir: string): RbacObject[] {
  const kustomization = parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS() as { resources?: string[] };
  return (kustomization.resources ?? []).flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      return d.toJS() as RbacObject;
    }),
  );
}

/** Every `*` in rules (apiGroups, resources, verbs, resourceNames, nonResourceURLs). */
export function wildcards(objects: readonly RbacObject[]): string[] {
  return objects.flatMap((o) =>
    (o.rules ?? []).flatMap((r, i) =>
      (['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs'] as const).flatMap((f) =>
        (r[f] ?? []).some((v) => v.includes('*')) ? [`${o.kind}/${o.metadata.name} rule ${i} ${f}`] : [],
      ),
    ),
  );
}

/** The rules that apply to the service account, each with where it applies (undefined: everywhere). */
export interface BoundRule {
  readonly source: string;
  readonly rule: PolicyRule;
  /** A RoleBinding's namespace: the rule covers only requests in it. */
  readonly namespace?: string;
}

function subjectMatches(b: RbacObject, sa: ServiceAccountRef): boolean {
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'];
  return (b.subjects ?? []).some((s) =>
    s.kind === 'ServiceAccount'
      ? s.name === sa.name && (s.namespace ?? b.metadata.namespace) === sa.namespace
      : s.kind === 'Group' && groups.includes(s.name),
  );
}

/**
 * Kubernetes RBAC binding semantics: a ClusterRoleBinding grants its ClusterRole everywhere; a
 * RoleBinding grants its Role (of its own namespace) or ClusterRole only in its namespace. A
 * roleRef to a role that does not exist grants nothing.
 */
export function boundRules(objects: readonly RbacObject[], sa: ServiceAccountRef): BoundRule[] {
  const roleOf = (kind: string, name: string, ns?: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === ns));
  return objects.flatMap((b) => {
    if ((b.kind !== 'ClusterRoleBinding' && b.kind !== 'RoleBinding') || b.roleRef === undefined || !subjectMatches(b, sa)) return [];
    if (b.kind === 'ClusterRoleBinding' && b.roleRef.kind !== 'ClusterRole') return [];
    const role = roleOf(b.roleRef.kind, b.roleRef.name, b.metadata.namespace);
    const source = `${b.kind}/${b.metadata.name} -> ${b.roleRef.kind}/${b.roleRef.name}`;
    return (role?.rules ?? []).map((rule) =>
      b.kind === 'RoleBinding' ? { source, rule, namespace: b.metadata.namespace ?? 'default' } : { source, rule },
    );
  });
}

/** `resource/subresource` as RBAC names it. */
export const rbacResource = (r: Pick<ResourceRequestInfo, 'resource' | 'subresource'>): string =>
  r.subresource === undefined ? r.resource : `${r.resource}/${r.subresource}`;

/**
 * Whether one rule allows a resource request (RBAC's `RuleAllows`): group, `resource` or
 * `resource/subresource`, verb, and resourceNames, which a request without a name (list, watch,
 * create, deletecollection) never matches.
 */
export function ruleAllows(b: BoundRule, r: ResourceRequestInfo): boolean {
  if (b.namespace !== undefined && r.namespace !== b.namespace) return false;
  const { rule } = b;
  if (!(rule.apiGroups ?? []).includes(r.apiGroup)) return false;
  if (!(rule.resources ?? []).includes(rbacResource(r))) return false;
  if (!rule.verbs.includes(r.verb)) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || (r.name !== undefined && names.includes(r.name));
}

export function allowed(rules: readonly BoundRule[], r: ResourceRequestInfo): boolean {
  return rules.some((b) => ruleAllows(b, r));
}

/** One (group, resource, verb) a rule grants, where it applies. */
export interface Grant {
  readonly source: string;
  readonly namespace?: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly verb: string;
}

export function grantsOf(rules: readonly BoundRule[]): Grant[] {
  return rules.flatMap(({ source, rule, namespace }) =>
    (rule.apiGroups ?? []).flatMap((apiGroup) =>
      (rule.resources ?? []).flatMap((resource) =>
        rule.verbs.map((verb) => ({ source, apiGroup, resource, verb, ...(namespace === undefined ? {} : { namespace }) })),
      ),
    ),
  );
}

export const grantKey = (g: Pick<Grant, 'apiGroup' | 'resource' | 'verb'>): string =>
  `${g.verb} ${g.apiGroup === '' ? 'core' : g.apiGroup} ${g.resource}`;
