import { decide, tenantRoleOf } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { ValidationError } from '../shared/errors.js';
import type { VmRecord, VmView } from './vm.js';
import { deriveVmState, type VmState } from './vm-state.js';

/** Filters of a VM list; all given ones must match. */
export interface VmListFilter {
  readonly owner?: string;
  readonly state?: VmState;
  readonly lab?: string;
  /** `key=value` (label equals) or `key` (label present), on the caller's labels. */
  readonly label?: string;
}

/** Tenant members never see node names (theirs or anyone's): placement is a platform detail. */
export function seesNodes(p: Principal, tenant: string): boolean {
  return p.platformAdmin || tenantRoleOf(p, tenant) !== 'member';
}

/** May `p` see this VM? Members see only their own; others per their role. */
export function canSeeVm(p: Principal, vm: Pick<VmRecord, 'tenant' | 'ownerId'>): boolean {
  return decide(p, 'vm.read', { tenant: vm.tenant, ownerId: vm.ownerId }).effect === 'allow';
}

const views = new WeakMap<VmRecord, { nodes?: VmView; noNodes?: VmView }>();

/**
 * The API view of a record: derived state, valid actions, and node names only for those who may
 * see them. Memoized per record object (records are immutable; a change makes a new one).
 */
export function toView(r: VmRecord, showNodes: boolean): VmView {
  const memo = views.get(r) ?? {};
  const known = showNodes ? memo.nodes : memo.noNodes;
  if (known !== undefined) return known;
  const view = deriveView(r, showNodes);
  views.set(r, showNodes ? { ...memo, nodes: view } : { ...memo, noNodes: view });
  return view;
}

function deriveView(r: VmRecord, showNodes: boolean): VmView {
  const { observation, instance, operationId: _op, nodeName, migration, ...rest } = r;
  const d = deriveVmState(observation);
  const restartRequired = instance !== undefined && (instance.cpu !== r.cpu || instance.memoryGi !== r.memoryGi);
  const shownMigration =
    migration === undefined
      ? undefined
      : showNodes
        ? migration
        : {
            name: migration.name,
            phase: migration.phase,
            ...(migration.failureReason === undefined ? {} : { failureReason: migration.failureReason }),
          };
  return {
    ...rest,
    ...(showNodes && nodeName !== undefined ? { nodeName } : {}),
    ...(shownMigration === undefined ? {} : { migration: shownMigration }),
    state: d.state,
    ...(d.reason === undefined ? {} : { reason: d.reason }),
    ...(d.message === undefined ? {} : { message: d.message }),
    running: r.runStrategy !== 'Halted',
    liveMigratable: d.liveMigratable,
    availableActions: d.availableActions,
    restartRequired,
  };
}

function labelMatcher(selector: string | undefined): ((labels: Readonly<Record<string, string>>) => boolean) | undefined {
  if (selector === undefined) return undefined;
  const eq = selector.indexOf('=');
  const key = (eq < 0 ? selector : selector.slice(0, eq)).trim();
  if (key === '')
    throw new ValidationError('The label filter is not acceptable.', [{ field: '/label', in: 'query', message: "use 'key' or 'key=value'" }]);
  if (eq < 0) return (labels) => Object.hasOwn(labels, key);
  const value = selector.slice(eq + 1).trim();
  return (labels) => labels[key] === value;
}

/** A predicate over records for the filters that do not need the derived state (owner, lab, label). */
export function recordFilter(filter: VmListFilter): ((r: Pick<VmRecord, 'ownerId' | 'lab' | 'labels'>) => boolean) | undefined {
  const label = labelMatcher(filter.label);
  if (filter.owner === undefined && filter.lab === undefined && label === undefined) return undefined;
  return (r) =>
    (filter.owner === undefined || r.ownerId === filter.owner) &&
    (filter.lab === undefined || r.lab === filter.lab) &&
    (label === undefined || label(r.labels));
}

/** True when `p` sees every VM of the tenant (not only their own). */
export function seesEveryVm(p: Principal, tenant: string): boolean {
  return decide(p, 'vm.read', { tenant, ownerId: '\u0000someone-else' }).effect === 'allow';
}
