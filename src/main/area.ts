import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KubeClient } from '../adapters/kubernetes/kube-client.js';
import type { InformerHealth } from '../adapters/kubernetes/resource-cache.js';
import type { ApiModule } from '../api/module.js';
import type { AuditLog } from '../domain/audit/audit.js';
import type { OperationService } from '../domain/operations/operation-service.js';
import type { OperationStore } from '../domain/operations/operation-store.js';
import type { Clock } from '../domain/shared/ids.js';
import type { LeaderLoop } from '../domain/shared/leadership.js';
import type { ClusterHealth, TenantRepository } from '../domain/tenants/tenant-repository.js';
import type { TerminalOperationListener } from '../domain/webhooks/operation-tap.js';
import type { JobKind } from '../jobs/job-kind.js';
import type { WakeSource } from '../jobs/wake-ups.js';
import type { Config } from './config.js';
import type { World } from './simulated.js';

/**
 * What every area may use, built once by the composition root before any area. An area takes the
 * slice it needs (`Pick<Platform, ...>`), so a test builds it from that slice alone.
 */
export interface Platform {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly metrics: Registry;
  /** The cluster, Azure, the network and their timings: real or simulated (see ./simulated.ts). */
  readonly world: World;
  /** The one Kubernetes client of the process, to the world's cluster (one request budget: KUBE_QPS / KUBE_BURST). */
  readonly kube: KubeClient;
  /** Tenancy: every area's objects belong to a tenant (and sign-in reads memberships from it). */
  readonly tenantRepo: TenantRepository & ClusterHealth;
  /** Starts and reads operations; areas hand their job kinds back instead of registering them. */
  readonly operations: OperationService;
  readonly operationStore: OperationStore;
  readonly auditLog: AuditLog;
  /** The process's Redis client when REDIS_URL is set (stores shared by replicas); absent in the embedded default. */
  readonly redis?: Redis;
}

/** Runs in every process that runs job workers: started after them, stopped with them (within their grace). */
export interface WorkerLoop {
  start(): Promise<void>;
  /** Work still running after `graceMs` (default 0) may be aborted, to run again later. */
  stop(graceMs?: number): Promise<void>;
}

/** What an area hands the composition root; every part is optional. */
export interface AreaParts {
  readonly jobKinds?: readonly JobKind[];
  /** Its slice of the API, in the order the API mounts it. */
  readonly api?: readonly ApiModule[];
  /**
   * Routes outside the API contract's handlers, registered as fastify plugins after it: what the
   * embedded default serves beside the product (the simulated LMS), and what the contract only
   * documents (`x-no-fastify-config`: the console's websocket and pages).
   */
  readonly routes?: readonly ((app: FastifyInstance) => Promise<void>)[];
  /** Loops that must run once in the deployment: on the replica holding the leader Lease. */
  readonly leaderLoops?: readonly LeaderLoop[];
  /** Loops that run wherever job workers run (see {@link WorkerLoop}). */
  readonly workerLoops?: readonly WorkerLoop[];
  /** The informers its reads come from: the process is ready once they synced (and keep up). */
  informers?(): readonly InformerHealth[];
  /** Sources of wake-ups for the job steps waiting on its objects (see `JobEngine.wakeOn`). */
  readonly wakeSources?: readonly WakeSource[];
  /** BullMQ queues of its own for the admin dashboard. */
  readonly dashboardQueues?: readonly unknown[];
  /** Told of every operation that reaches a terminal status (must not throw). */
  readonly onTerminalOperation?: TerminalOperationListener;
  close?(): Promise<void>;
}

/** A built area: its parts, and what later areas may use (`exports`). */
export interface BuiltArea<E> extends AreaParts {
  readonly exports: E;
}

/**
 * One area of the product (tenants, images, VMs, ...): declares the platform slice and the other
 * areas it needs (by name, `needs`), and builds its parts. `C` is the context its `build` reads.
 */
export interface Area<C = never, E = unknown> {
  readonly name: string;
  readonly needs: readonly string[];
  build(ctx: C): Promise<BuiltArea<E>>;
}

/** Identity function typing an area literal (keeps `C` and `E` inferred from `build`). */
export function defineArea<C, E>(area: Area<C, E>): Area<C, E> {
  return area;
}

/** The areas in an order where each comes after those it needs (stable: otherwise as listed). */
export function buildOrder<A extends Pick<Area, 'name' | 'needs'>>(areas: readonly A[]): A[] {
  const byName = new Map(areas.map((a) => [a.name, a]));
  const done = new Set<string>();
  const visiting = new Set<string>();
  const out: A[] = [];
  const visit = (a: A, path: readonly string[]): void => {
    if (done.has(a.name)) return;
    if (visiting.has(a.name)) throw new TypeError(`areas need each other: ${[...path, a.name].join(' -> ')}`);
    visiting.add(a.name);
    for (const n of a.needs) {
      const dep = byName.get(n);
      if (dep === undefined) throw new TypeError(`area ${a.name} needs ${n}, which is not an area`);
      visit(dep, [...path, a.name]);
    }
    visiting.delete(a.name);
    done.add(a.name);
    out.push(a);
  };
  for (const a of areas) visit(a, []);
  return out;
}

/** Every area built, with their parts in listing order (API) or build order (the rest). */
export interface Mounted {
  readonly built: ReadonlyMap<string, BuiltArea<unknown>>;
  /** Build order: start in this order, close in reverse. */
  readonly order: readonly string[];
}

/**
 * Builds the areas in dependency order, each with the platform plus the exports of the areas built
 * before it (under their names). On a failure, closes what was built (in reverse) and rethrows.
 */
export async function buildAreas(areas: readonly Area<never>[], platform: Platform, logger: Logger): Promise<Mounted> {
  const built = new Map<string, BuiltArea<unknown>>();
  const order: string[] = [];
  const ctx: Record<string, unknown> = { ...platform };
  try {
    for (const area of buildOrder(areas)) {
      if (Object.hasOwn(platform, area.name)) throw new TypeError(`area ${area.name} is named like a platform field`);
      const b = await (area as Area<Record<string, unknown>>).build(ctx);
      built.set(area.name, b);
      order.push(area.name);
      ctx[area.name] = b.exports;
    }
  } catch (err) {
    await closeAreas({ built, order }, logger);
    throw err;
  }
  return { built, order };
}

/** Closes the areas in reverse build order; a failing close is logged and the others still close. */
export async function closeAreas(mounted: Mounted, logger: Logger): Promise<void> {
  for (const name of [...mounted.order].reverse()) {
    await mounted.built
      .get(name)
      ?.close?.()
      .catch((err: unknown) => logger.warn({ err, area: name }, 'error while closing an area'));
  }
}
