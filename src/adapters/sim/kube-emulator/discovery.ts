import { RESOURCES, servedGroupVersions, type ServedFilter } from './resources.js';

/** Actions served under `subresources.kubevirt.io/v1` for virtual machines. */
export const VM_ACTIONS = ['start', 'stop', 'restart', 'migrate'] as const;
/** Subresources (`get`; `vnc` and `console` as websockets) served under `subresources.kubevirt.io/v1` for virtual machine instances. */
export const VMI_SUBRESOURCES = ['userlist', 'vnc', 'console'] as const;
export const KUBEVIRT_SUBRESOURCE_GROUP = 'subresources.kubevirt.io';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const READ_VERBS = ['get', 'list', 'watch'];

/** `GET /version`. */
export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '31',
    gitVersion: 'v1.31.2-labplane-emulator',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.22.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** `GET /api`. */
export function coreVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groupEntry(group: string, version: string): unknown {
  const gv = { groupVersion: `${group}/${version}`, version };
  return { name: group, versions: [gv], preferredVersion: gv };
}

/** `GET /apis`. */
export function groupList(served?: ServedFilter): unknown {
  const groups = servedGroupVersions(served).map((g) => groupEntry(g.group, g.version));
  groups.push(groupEntry(KUBEVIRT_SUBRESOURCE_GROUP, 'v1'));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

/** `GET /apis/{group}`, or undefined for an unknown group. */
export function apiGroup(group: string, served?: ServedFilter): unknown {
  if (group === KUBEVIRT_SUBRESOURCE_GROUP) return { kind: 'APIGroup', apiVersion: 'v1', ...(groupEntry(group, 'v1') as object) };
  const found = servedGroupVersions(served).find((g) => g.group === group);
  return found ? { kind: 'APIGroup', apiVersion: 'v1', ...(groupEntry(found.group, found.version) as object) } : undefined;
}

/** `GET /api/v1` or `/apis/{group}/{version}`: an APIResourceList, or undefined when not served. */
export function resourceList(group: string, version: string, served: ServedFilter = () => true): unknown {
  const groupVersion = group ? `${group}/${version}` : version;
  if (group === KUBEVIRT_SUBRESOURCE_GROUP && version === 'v1') {
    const resources: unknown[] = VM_ACTIONS.map((a) => ({
      name: `virtualmachines/${a}`,
      singularName: '',
      namespaced: true,
      kind: '',
      verbs: ['update'],
    }));
    for (const sub of VMI_SUBRESOURCES)
      resources.push({ name: `virtualmachineinstances/${sub}`, singularName: '', namespaced: true, kind: '', verbs: ['get'] });
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
  }
  const defs = RESOURCES.filter((d) => d.group === group && d.version === version && served(d));
  if (defs.length === 0) return undefined;
  const resources: unknown[] = [];
  for (const d of defs) {
    const entry: Record<string, unknown> = {
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: d.readOnly ? READ_VERBS : ALL_VERBS,
    };
    if (d.shortNames.length > 0) entry.shortNames = d.shortNames;
    if (!d.builtin) entry.categories = ['all'];
    resources.push(entry);
    if (d.statusSubresource) {
      resources.push({ name: `${d.plural}/status`, singularName: '', namespaced: d.namespaced, kind: d.kind, verbs: ['get', 'patch', 'update'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}
