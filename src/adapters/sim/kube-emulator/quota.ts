import { forbidden } from './errors.js';
import { formatQuantity, isQuantity, parseQuantity } from '../../kubernetes/quantity.js';
import type { Quantity } from '../../kubernetes/quantity.js';
import { RESOURCES } from './resources.js';
import type { ResourceDef } from './resources.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';
import { clone, isObject } from './types.js';

type Usage = Map<string, bigint>;

const PVC = 'persistentvolumeclaims';
const DV = 'datavolumes.cdi.kubevirt.io';
const VMI = 'virtualmachineinstances.kubevirt.io';
const POD = 'pods';
const QUOTA = 'resourcequotas';
const ALIASES: Record<string, string> = { cpu: 'requests.cpu', memory: 'requests.memory', storage: 'requests.storage' };
const record = (v: unknown): Record<string, unknown> => (isObject(v) ? v : {});

function milli(v: unknown): bigint {
  return isQuantity(v) ? parseQuantity(v as string | number).milli : 0n;
}

function add(u: Usage, key: string, amount: bigint): void {
  if (amount !== 0n) u.set(key, (u.get(key) ?? 0n) + amount);
}

function addClaim(u: Usage, storageClass: unknown, storage: unknown): void {
  add(u, PVC, 1000n);
  add(u, 'requests.storage', milli(storage));
  if (typeof storageClass === 'string' && storageClass) {
    add(u, `${storageClass}.storageclass.storage.k8s.io/persistentvolumeclaims`, 1000n);
    add(u, `${storageClass}.storageclass.storage.k8s.io/requests.storage`, milli(storage));
  }
}

function addCompute(u: Usage, requests: Record<string, unknown>, limits: Record<string, unknown>, fallback: { cpu: bigint; memory: bigint }): void {
  const reqCpu = requests.cpu === undefined ? fallback.cpu : milli(requests.cpu);
  const reqMem = requests.memory === undefined ? fallback.memory : milli(requests.memory);
  add(u, 'requests.cpu', reqCpu);
  add(u, 'requests.memory', reqMem);
  add(u, 'limits.cpu', limits.cpu === undefined ? reqCpu : milli(limits.cpu));
  add(u, 'limits.memory', limits.memory === undefined ? reqMem : milli(limits.memory));
}

const terminal = (obj: KubeObject): boolean => ['Succeeded', 'Failed'].includes(String(record(obj.status).phase));

/**
 * What one object adds to its namespace's quota usage (in milli-units; counts are 1000 per object).
 * A VMI stands for its virt-launcher pod: CPU request defaults to 100m per vCPU (KubeVirt's
 * allocation ratio of 10), memory to the guest memory; missing limits count as the requests.
 */
function contribution(resource: string, obj: KubeObject, u: Usage): void {
  const spec = record(obj.spec);
  if (resource === PVC) {
    addClaim(u, spec.storageClassName, record(record(spec.resources).requests).storage);
  } else if (resource === DV) {
    const claim = record(spec.storage ?? spec.pvc);
    addClaim(u, claim.storageClassName, record(record(claim.resources).requests).storage);
  } else if (resource === VMI && !terminal(obj)) {
    const domain = record(spec.domain);
    const cpu = record(domain.cpu);
    const vcpus = BigInt(Number(cpu.cores ?? 1) * Number(cpu.sockets ?? 1) * Number(cpu.threads ?? 1));
    const res = record(domain.resources);
    add(u, POD, 1000n);
    addCompute(u, record(res.requests), record(res.limits), { cpu: vcpus * 100n, memory: milli(record(domain.memory).guest) });
  } else if (resource === POD && !terminal(obj) && record(obj.metadata.labels)['kubevirt.io'] !== 'virt-launcher') {
    add(u, POD, 1000n);
    for (const c of Array.isArray(spec.containers) ? spec.containers : []) {
      const res = record(record(c).resources);
      addCompute(u, record(res.requests), record(res.limits), { cpu: 0n, memory: 0n });
    }
  }
}

/** An object as it would be after a pending write (undefined `obj` = deleted). */
export interface PendingChange {
  resource: string;
  name: string;
  obj: KubeObject | undefined;
}

/** Usage of a namespace, optionally as if `change` were applied. */
function namespaceUsage(store: ObjectStore, ns: string, change?: PendingChange): Usage {
  const u: Usage = new Map();
  const effective = (resource: string): KubeObject[] => {
    const objects = [...store.scan(resource, ns)].filter((o) => !(change?.resource === resource && o.metadata.name === change.name));
    if (change?.resource === resource && change.obj) objects.push(change.obj);
    return objects;
  };
  const pvcs = effective(PVC);
  const pvcNames = new Set(pvcs.map((p) => p.metadata.name));
  for (const p of pvcs) contribution(PVC, p, u);
  for (const dv of effective(DV)) if (!pvcNames.has(dv.metadata.name)) contribution(DV, dv, u);
  for (const vmi of effective(VMI)) contribution(VMI, vmi, u);
  for (const pod of effective(POD)) contribution(POD, pod, u);
  for (const def of RESOURCES) {
    if (!def.namespaced) continue;
    let n = store.count(def.key, ns);
    if (change?.resource === def.key) {
      const exists = store.peek(def.key, ns, change.name) !== undefined;
      n += (change.obj ? 1 : 0) - (exists ? 1 : 0);
    }
    add(u, `count/${def.group ? `${def.plural}.${def.group}` : def.plural}`, BigInt(n) * 1000n);
  }
  return u;
}

function usedFor(u: Usage, key: string): bigint {
  return u.get(ALIASES[key] ?? key) ?? 0n;
}

function hardOf(quota: KubeObject): Record<string, unknown> {
  return record(record(quota.spec).hard);
}

/** The status a ResourceQuota should have: `hard` copied from spec, `used` for each hard key. */
export function quotaStatus(quota: KubeObject, u: Usage): { hard: Record<string, string>; used: Record<string, string> } {
  const hard: Record<string, string> = {};
  const used: Record<string, string> = {};
  for (const [key, value] of Object.entries(hardOf(quota))) {
    if (!isQuantity(value)) continue;
    const h = parseQuantity(value as string | number);
    hard[key] = typeof value === 'string' ? value : formatQuantity(h);
    used[key] = formatQuantity({ milli: usedFor(u, key), format: h.format });
  }
  return { hard, used };
}

/**
 * Quota admission: answers 403 Forbidden (`exceeded quota: ...`) when the write would push a usage
 * above a hard limit; writes that do not increase a usage are always admitted (so lowering
 * `spec.hard` below `used` never blocks deletes or shrinking).
 */
export function checkQuota(store: ObjectStore, def: ResourceDef, ns: string, name: string, obj: KubeObject | undefined): void {
  const quotas = [...store.scan(QUOTA, ns)].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)));
  if (quotas.length === 0) return;
  const before = namespaceUsage(store, ns);
  const after = namespaceUsage(store, ns, { resource: def.key, name, obj });
  for (const q of quotas) {
    const parts = { requested: [] as string[], used: [] as string[], limited: [] as string[] };
    for (const [key, value] of Object.entries(hardOf(q)).sort(([a], [b]) => a.localeCompare(b))) {
      if (!isQuantity(value)) continue;
      const hard = parseQuantity(value as string | number);
      const was = usedFor(before, key);
      const will = usedFor(after, key);
      if (will <= was || will <= hard.milli) continue;
      const fmt = (m: bigint): string => formatQuantity({ milli: m, format: hard.format } satisfies Quantity);
      parts.requested.push(`${key}=${fmt(will - was)}`);
      parts.used.push(`${key}=${fmt(was)}`);
      parts.limited.push(`${key}=${typeof value === 'string' ? value : fmt(hard.milli)}`);
    }
    if (parts.requested.length > 0) {
      const why = `exceeded quota: ${q.metadata.name ?? ''}, requested: ${parts.requested.join(',')}, used: ${parts.used.join(',')}, limited: ${parts.limited.join(',')}`;
      throw forbidden(def, name, why);
    }
  }
}

/**
 * The quota controller: keeps `status.hard` and `status.used` of every ResourceQuota current,
 * in a microtask after changes in its namespace (changes made in one synchronous batch coalesce). Returns the unsubscribe function.
 */
export function startQuotaController(store: ObjectStore): () => void {
  const reconcile = (ns: string): void => {
    const quotas = [...store.scan(QUOTA, ns)];
    if (quotas.length === 0) return;
    const u = namespaceUsage(store, ns);
    for (const q of quotas) {
      if (q.metadata.deletionTimestamp) continue;
      const status = quotaStatus(q, u);
      if (JSON.stringify(status) === JSON.stringify(q.status ?? {})) continue;
      const next = clone(q);
      delete next.metadata.resourceVersion;
      next.status = status;
      store.update(QUOTA, next);
    }
  };
  const pending = new Set<string>();
  let active = true;
  const flush = (): void => {
    const namespaces = [...pending];
    pending.clear();
    if (active) namespaces.forEach(reconcile);
  };
  const unsubscribe = store.subscribe(undefined, (event) => {
    const ns = event.object.metadata.namespace;
    if (!ns) return;
    if (pending.size === 0) queueMicrotask(flush);
    pending.add(ns);
  });
  return () => {
    active = false;
    unsubscribe();
  };
}
