import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RecordedRequests, ResourceRequestInfo } from '../../src/adapters/sim/kube-emulator/index.js';
import {
  allowed,
  boundRules,
  grantKey,
  grantsOf,
  loadRbacManifests,
  rbacResource,
  ruleAllows,
  wildcards,
  type RbacObject,
} from './rbac-evaluator.js';
import { runScenario } from './scenario.js';

const MANIFESTS = resolve(import.meta.dirname, '../../deploy/base/rbac');
const SA = { name: 'labplane', namespace: 'labplane-system' };
const CONTROL = 'labplane-system';

/**
 * Granted but not exercised by the scenario, each with why. Keyed `verb group resource`.
 */
const UNUSED_ON_PURPOSE: Readonly<Record<string, string>> = {
  'get core resourcequotas': 'createOrReplace re-reads a quota after a write conflict; the scenario writes without conflicts',
  'get networking.k8s.io networkpolicies':
    'createOrReplace replaces a policy that exists (a restart, a retried tenant create); the scenario starts on an empty cluster',
  'update networking.k8s.io networkpolicies': 'as above',
  'get rbac.authorization.k8s.io roles':
    'createOrReplace replaces the tenant and image-clone Roles when they exist; the scenario starts on an empty cluster',
  'update rbac.authorization.k8s.io roles': 'as above',
  'get rbac.authorization.k8s.io rolebindings': 'a member write re-reads its binding after a write conflict; the scenario writes without conflicts',
  'get kubevirt.io virtualmachineinstances':
    'direct read while the VMI watch has not synced (a slow start); also granted by the tenant Roles, so held anyway (no escalate)',
  'get kubevirt.io virtualmachineinstancemigrations': 'direct read while the migration watch has not synced; also granted by the tenant owner Role',
  'get labplane.io labs':
    'direct read while the lab watch has not synced, and a re-read after a write conflict; the scenario starts with synced caches and writes without conflicts',
  'update subresources.kubevirt.io virtualmachines/migrate':
    'held because the tenant owner Role grants it; the control plane migrates by creating migrations',
  'create cdi.kubevirt.io datavolumes/source':
    'CDI/KubeVirt clone authorization (a SubjectAccessReview the emulator does not make) for a VM disk cloned from an image PVC; also held for the image-clone Role',
  'get core configmaps': 'direct read of an LTI registration while the watch has not synced; the scenario starts with synced caches',
  'get coordination.k8s.io leases': 'leader election (being added): one scheduler across replicas',
  'create coordination.k8s.io leases': 'leader election',
  'update coordination.k8s.io leases': 'leader election',
};

let recorded: RecordedRequests;
let manifests: RbacObject[];
/** Distinct requests (by what RBAC looks at), with how often each was made. */
let distinct: ResourceRequestInfo[];

const denied = (objects: readonly RbacObject[]) => {
  const rules = boundRules(objects, SA);
  return distinct.filter((r) => !allowed(rules, r));
};
const describeRequest = (r: ResourceRequestInfo) =>
  `${r.verb} ${r.apiGroup || 'core'} ${rbacResource(r)} in ${r.namespace ?? '(cluster)'}${r.name === undefined ? '' : ` name ${r.name}`}`;

beforeAll(async () => {
  manifests = loadRbacManifests(MANIFESTS);
  recorded = await runScenario();
  const seen = new Map<string, ResourceRequestInfo>();
  for (const r of recorded.resource) seen.set(JSON.stringify([r.verb, r.apiGroup, r.resource, r.subresource, r.namespace, r.name]), r);
  distinct = [...seen.values()];
}, 240_000);

describe('the RBAC of deploy/base/rbac against everything the control plane does', () => {
  it('the scenario made requests of every kind it should (it really ran)', () => {
    const kinds = new Set(distinct.map((r) => `${r.verb} ${rbacResource(r)}`));
    for (const k of [
      'create namespaces',
      'delete namespaces',
      'create secrets',
      'update virtualmachines/start',
      'create virtualmachineinstancemigrations',
      'update labs/status',
      'watch nodes',
      'create datavolumes',
      'get virtualmachineinstances/userlist',
      'get virtualmachineinstances/vnc',
      'get virtualmachineinstances/console',
    ]) {
      expect(kinds, k).toContain(k);
    }
  });

  it('has no wildcard anywhere', () => {
    expect(wildcards(manifests)).toEqual([]);
  });

  it('allows every request the scenario made', () => {
    expect(denied(manifests).map(describeRequest)).toEqual([]);
  });

  it('grants nothing the scenario did not use, except what is listed with a reason', () => {
    const rules = boundRules(manifests, SA);
    const unused = grantsOf(rules)
      .filter(
        (g) =>
          !distinct.some(
            (r) =>
              r.verb === g.verb &&
              r.apiGroup === g.apiGroup &&
              rbacResource(r) === g.resource &&
              (g.namespace === undefined || r.namespace === g.namespace),
          ),
      )
      .map(grantKey);
    expect(unused.filter((k) => UNUSED_ON_PURPOSE[k] === undefined)).toEqual([]);
    // And every listed exception is still granted (a stale entry would hide nothing, but mislead).
    const granted = new Set(grantsOf(rules).map(grantKey));
    expect(Object.keys(UNUSED_ON_PURPOSE).filter((k) => !granted.has(k))).toEqual([]);
  });

  it('makes only discovery-style non-resource requests (granted to every authenticated user by system:discovery)', () => {
    const discovery = /^\/(api|apis)(\/.*)?$|^\/(version|healthz|livez|readyz)$|^\/openapi\/.*$/;
    expect(recorded.nonResource.filter((r) => r.verb !== 'get' || !discovery.test(r.path))).toEqual([]);
  });

  it('reads Secrets only in its own namespace; in tenant namespaces it may only create and delete them', () => {
    const rules = boundRules(manifests, SA);
    const secret = (verb: string, namespace?: string, name?: string): ResourceRequestInfo => ({
      kind: 'resource',
      verb,
      apiGroup: '',
      apiVersion: 'v1',
      resource: 'secrets',
      ...(namespace === undefined ? {} : { namespace }),
      ...(name === undefined ? {} : { name }),
    });
    for (const verb of ['get', 'update', 'patch']) expect(allowed(rules, secret(verb, 'some-tenant', 'vm-cloudinit')), verb).toBe(false);
    for (const verb of ['list', 'watch']) {
      expect(allowed(rules, secret(verb)), `${verb} across namespaces`).toBe(false);
      expect(allowed(rules, secret(verb, 'kube-system')), `${verb} kube-system`).toBe(false);
      expect(allowed(rules, secret(verb, CONTROL)), `${verb} own namespace`).toBe(true);
    }
    expect(allowed(rules, secret('get', CONTROL, 'labplane-webhook-x'))).toBe(true);
    // `update` only on the LTI tool key Secret, by name.
    expect(allowed(rules, secret('update', CONTROL, 'labplane-lti-keys'))).toBe(true);
    expect(allowed(rules, secret('update', CONTROL, 'labplane-webhook-x'))).toBe(false);
    expect(allowed(rules, secret('update', 'some-tenant', 'labplane-lti-keys'))).toBe(false);
    expect(allowed(rules, secret('create', 'some-tenant'))).toBe(true);
    expect(allowed(rules, secret('delete', 'some-tenant', 'vm-cloudinit'))).toBe(true);
    const scenarioSecretVerbs = new Set(distinct.filter((r) => r.resource === 'secrets' && r.namespace !== CONTROL).map((r) => r.verb));
    expect(scenarioSecretVerbs).toEqual(new Set(['create', 'delete']));
  });
});

describe('the checks can fail', () => {
  const without = (kind: string, name: string, group: string, resource: string, verb: string): RbacObject[] => {
    const copy = structuredClone(manifests);
    const role = copy.find((o) => o.kind === kind && o.metadata.name === name);
    const rule = role?.rules?.find((r) => (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource) && r.verbs.includes(verb));
    if (rule === undefined) throw new Error(`no rule grants ${verb} ${group}/${resource} in ${kind}/${name}`);
    rule.verbs = rule.verbs.filter((v) => v !== verb);
    return copy;
  };

  it('removing `create` on secrets from the ClusterRole denies the cloud-init Secret creates', () => {
    const refused = denied(without('ClusterRole', 'labplane-control-plane', '', 'secrets', 'create'));
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.verb === 'create' && r.resource === 'secrets' && r.namespace !== CONTROL)).toBe(true);
  });

  it('removing any granted verb the scenario uses (from every rule that grants it) denies at least one of its requests', () => {
    const used = new Set(
      grantsOf(boundRules(manifests, SA))
        .map(grantKey)
        .filter((k) => UNUSED_ON_PURPOSE[k] === undefined),
    );
    expect(used.size).toBeGreaterThan(30);
    for (const key of used) {
      const copy = structuredClone(manifests);
      for (const rule of copy.flatMap((o) => o.rules ?? [])) {
        for (const g of rule.apiGroups ?? [])
          for (const r of rule.resources ?? [])
            if (rule.verbs.some((v) => grantKey({ apiGroup: g, resource: r, verb: v }) === key))
              rule.verbs = rule.verbs.filter((v) => grantKey({ apiGroup: g, resource: r, verb: v }) !== key);
      }
      expect(denied(copy).length, key).toBeGreaterThan(0);
    }
  });

  it('a wildcard is reported', () => {
    const copy = structuredClone(manifests);
    copy[0]?.rules?.[0]?.verbs.push('*');
    expect(wildcards(copy)).toHaveLength(1);
  });

  it('a namespaced Role grants only in its namespace, and resourceNames never match list, watch or create', () => {
    const rb = {
      source: 'x',
      namespace: 'a',
      rule: { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create'], resourceNames: ['s1'] },
    };
    const req = (verb: string, namespace: string, name?: string): ResourceRequestInfo => ({
      kind: 'resource',
      verb,
      apiGroup: '',
      apiVersion: 'v1',
      resource: 'secrets',
      namespace,
      ...(name === undefined ? {} : { name }),
    });
    expect(ruleAllows(rb, req('get', 'a', 's1'))).toBe(true);
    expect(ruleAllows(rb, req('get', 'b', 's1'))).toBe(false);
    expect(ruleAllows(rb, req('get', 'a', 's2'))).toBe(false);
    expect(ruleAllows(rb, req('list', 'a'))).toBe(false);
    expect(ruleAllows(rb, req('create', 'a'))).toBe(false);
    const sub = { source: 'x', rule: { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/start'], verbs: ['update'] } };
    const put = {
      kind: 'resource',
      verb: 'update',
      apiGroup: 'subresources.kubevirt.io',
      apiVersion: 'v1',
      resource: 'virtualmachines',
      namespace: 't',
      name: 'vm',
    } as const;
    expect(ruleAllows(sub, { ...put, subresource: 'start' })).toBe(true);
    expect(ruleAllows(sub, { ...put, subresource: 'stop' })).toBe(false);
    expect(ruleAllows(sub, put)).toBe(false);
  });
});
