import { setTimeout as sleep } from 'node:timers/promises';
import type { ArcMachineStatus } from '../../../domain/identity/arc-machine.js';
import type { RoleAssignment } from '../../../domain/identity/access.js';
import { createTokenBucket, type TokenBucket } from '../../../domain/identity/token-bucket.js';
import { currentCallPriority, type CallPriority } from '../../../domain/operations/call-priority.js';
import { UpstreamUnavailableError } from '../../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../../domain/shared/ids.js';
import type { Scheduler } from '../../../domain/shared/scheduler.js';

export type SimRequestKind = 'reads' | 'writes' | 'deletes';

export interface SimBucketLimits {
  readonly ratePerSecond: number;
  readonly burst: number;
}

/** How a planned onboarding ends: the agent connects, never shows up, or reports `Error`. */
export type OnboardingOutcome = 'connect' | 'never-connect' | 'fail';

export interface SimAzureOptions {
  readonly subscriptionId?: string;
  readonly resourceGroup?: string;
  readonly location?: string;
  readonly tenantId?: string;
  readonly clock?: Clock;
  /** Time and the timers of `latencyMs`; when given, it is also the clock. Default real time. */
  readonly scheduler?: Scheduler;
  /** From onboarding start until the machine resource exists (status `Disconnected`), ms. Default 2 000. */
  readonly appearAfterMs?: number;
  /** From onboarding start until the machine reports `Connected`, ms. Default 4 000. */
  readonly connectAfterMs?: number;
  /** How long an extension install runs, ms. Default 3 000. */
  readonly extensionInstallMs?: number;
  /** Added to every call, ms. Default 0. */
  readonly latencyMs?: number;
  /**
   * ARM's own throttling: `true` for ARM's buckets (reads 250 / 25 per s, writes and deletes 200 /
   * 10 per s), or custom limits. Over budget a call fails with UpstreamUnavailableError
   * `AZURE_THROTTLED` and `retryAfterSeconds`, as the real adapter reports a 429. Default off.
   */
  readonly throttling?: boolean | Partial<Record<SimRequestKind, SimBucketLimits>>;
  /** Client-side budget the callers wait on before each call (mirrors the real adapters' limiter). */
  readonly clientBudget?: Partial<Record<SimRequestKind, SimBucketLimits>>;
  /** Role assignments a subscription holds at most. Default 5 000 (ARM's cap). */
  readonly roleAssignmentLimit?: number;
  /** Lifetime of minted onboarding tokens, ms. Default 1 hour. */
  readonly tokenLifetimeMs?: number;
}

/** Request counters for benchmarks: calls as ARM would count them, and refusals for throttling. */
export interface SimAzureStats {
  readonly reads: number;
  readonly writes: number;
  readonly deletes: number;
  readonly throttled: number;
  readonly extensionPuts: number;
  readonly tokensMinted: number;
}

export interface SimMachine {
  readonly name: string;
  tags: Record<string, string>;
  readonly startedAt: number;
  readonly outcome: OnboardingOutcome;
  /** Set by disconnect/reconnect knobs; overrides the timeline. */
  forced?: { status: ArcMachineStatus; at: number };
  agentVersion: string;
}

export interface SimExtensionOp {
  readonly id: string;
  readonly machine: string;
  readonly extension: string;
  readonly publisher: string;
  readonly type: string;
  readonly startedAt: number;
  readonly doneAt: number;
  readonly failure: string | undefined;
}

const ARM_LIMITS: Readonly<Record<SimRequestKind, SimBucketLimits>> = {
  reads: { ratePerSecond: 25, burst: 250 },
  writes: { ratePerSecond: 10, burst: 200 },
  deletes: { ratePerSecond: 10, burst: 200 },
};

/** The state of the simulated subscription, shared by every port instance built over it. */
export class SimWorld {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly tenantId: string;
  readonly clock: Clock;
  private readonly scheduler: Scheduler | undefined;
  readonly appearAfterMs: number;
  readonly connectAfterMs: number;
  extensionInstallMs: number;
  latencyMs: number;
  roleAssignmentLimit: number;
  readonly tokenLifetimeMs: number;

  readonly machines = new Map<string, SimMachine>();
  /** Outcome of the next onboarding of a VM name (default `connect`). */
  readonly plannedOutcomes = new Map<string, OnboardingOutcome>();
  readonly extensionOps = new Map<string, SimExtensionOp>();
  /** `machine/extension` (lower case) → the id of its latest operation. */
  readonly extensions = new Map<string, string>();
  /** Machine (lower case) → failure reason of its next extension install. */
  readonly extensionFailures = new Map<string, string>();
  /** Role assignment id (lower case) → assignment. */
  readonly assignments = new Map<string, RoleAssignment>();
  readonly unknownPrincipals = new Set<string>();
  /** Minted token → expiry (epoch ms). */
  readonly tokens = new Map<string, number>();
  private readonly failures: unknown[] = [];
  private readonly serverBuckets: Readonly<Record<SimRequestKind, TokenBucket>> | undefined;
  private readonly clientBuckets: Readonly<Record<SimRequestKind, TokenBucket>> | undefined;
  private readonly counts = { reads: 0, writes: 0, deletes: 0, throttled: 0, extensionPuts: 0, tokensMinted: 0 };
  private seq = 0;

  constructor(options: SimAzureOptions = {}) {
    this.subscriptionId = options.subscriptionId ?? '00000000-0000-4000-8000-00000000a2c1';
    this.resourceGroup = options.resourceGroup ?? 'labplane-sim';
    this.location = options.location ?? 'westeurope';
    this.tenantId = options.tenantId ?? '00000000-0000-4000-8000-00000000aad1';
    this.clock = options.scheduler ?? options.clock ?? systemClock;
    this.scheduler = options.scheduler;
    this.appearAfterMs = options.appearAfterMs ?? 2_000;
    this.connectAfterMs = Math.max(options.connectAfterMs ?? 4_000, this.appearAfterMs);
    this.extensionInstallMs = options.extensionInstallMs ?? 3_000;
    this.latencyMs = options.latencyMs ?? 0;
    this.roleAssignmentLimit = options.roleAssignmentLimit ?? 5_000;
    this.tokenLifetimeMs = options.tokenLifetimeMs ?? 3_600_000;
    const t = options.throttling;
    if (t !== undefined && t !== false) this.serverBuckets = this.buckets(t === true ? {} : t, ARM_LIMITS);
    // The client's budget orders waiting calls as the real adapter's does (createArmBudget); ARM's own does not.
    if (options.clientBudget !== undefined) this.clientBuckets = this.buckets(options.clientBudget, ARM_LIMITS, currentCallPriority);
  }

  private buckets(
    limits: Partial<Record<SimRequestKind, SimBucketLimits>>,
    defaults: Record<SimRequestKind, SimBucketLimits>,
    priority?: () => CallPriority | undefined,
  ) {
    // With a scheduler, waits for a token run on its time too (tests move it by hand).
    const scheduler = this.scheduler;
    const sleep = scheduler === undefined ? undefined : (ms: number) => new Promise<void>((resolve) => scheduler.after(ms, resolve));
    const make = (k: SimRequestKind) =>
      createTokenBucket({
        ...(limits[k] ?? defaults[k]),
        clock: this.clock,
        ...(sleep === undefined ? {} : { sleep }),
        ...(priority === undefined ? {} : { priority }),
      });
    return { reads: make('reads'), writes: make('writes'), deletes: make('deletes') };
  }

  now(): number {
    return this.clock.now().getTime();
  }

  nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}-${this.seq.toString(36)}-${this.now().toString(36)}`;
  }

  /** Latency and injected failures, for every call (ARM or Azure AD). */
  async gate(): Promise<void> {
    const { latencyMs, scheduler } = this;
    if (latencyMs > 0) await (scheduler === undefined ? sleep(latencyMs) : new Promise<void>((resolve) => scheduler.after(latencyMs, resolve)));
    if (this.failures.length > 0) throw this.failures.shift();
  }

  /** One ARM request of `kind`: latency, injected failure, client budget, ARM throttling, counting. */
  async request(kind: SimRequestKind): Promise<void> {
    await this.gate();
    if (this.clientBuckets !== undefined) await this.clientBuckets[kind].take();
    const bucket = this.serverBuckets?.[kind];
    if (bucket !== undefined && !bucket.tryTake()) {
      this.counts.throttled += 1;
      throw new UpstreamUnavailableError('AZURE_THROTTLED', 'Azure Resource Manager is throttling requests (simulated).', {
        retryAfterSeconds: Math.max(1, Math.ceil(bucket.nextAvailableInMs() / 1000)),
        details: { kind, statusCode: 429 },
      });
    }
    this.counts[kind] += 1;
  }

  failNext(error: unknown): void {
    this.failures.push(error);
  }

  countExtensionPut(): void {
    this.counts.extensionPuts += 1;
  }

  countMint(): void {
    this.counts.tokensMinted += 1;
  }

  stats(): SimAzureStats {
    return { ...this.counts };
  }

  /** The machine's status now, from its timeline (undefined while it does not exist yet, or never will). */
  statusOf(m: SimMachine): ArcMachineStatus | undefined {
    const elapsed = this.now() - m.startedAt;
    if (m.outcome === 'never-connect' || elapsed < this.appearAfterMs) return undefined;
    if (m.forced !== undefined) return m.forced.status;
    if (m.outcome === 'fail') return 'Error';
    return elapsed >= this.connectAfterMs ? 'Connected' : 'Disconnected';
  }

  /** When the status last changed (epoch ms). */
  statusChangedAt(m: SimMachine): number {
    if (m.forced !== undefined) return m.forced.at;
    const elapsed = this.now() - m.startedAt;
    return m.startedAt + (m.outcome === 'connect' && elapsed >= this.connectAfterMs ? this.connectAfterMs : this.appearAfterMs);
  }

  /** A machine that exists now (its resource was created), by case-insensitive name. */
  visibleMachine(name: string): SimMachine | undefined {
    const m = this.machines.get(name.toLowerCase());
    return m !== undefined && this.statusOf(m) !== undefined ? m : undefined;
  }
}
