import { randomBytes } from 'node:crypto';
import type { AccessPort, AccessRole, RoleAssignment } from '../../../domain/identity/access.js';
import type { ArcMachineStatus } from '../../../domain/identity/arc-machine.js';
import type { ArcMachinesPort } from '../../../domain/identity/arc-machines-port.js';
import type { OnboardingCredentials } from '../../../domain/identity/onboarding.js';
import { createSimAccess, seedAssignment } from './sim-access.js';
import { createSimArcMachines } from './sim-arc-machines.js';
import { SimWorld, type OnboardingOutcome, type SimAzureOptions, type SimAzureStats } from './sim-world.js';

export type { OnboardingOutcome, SimAzureOptions, SimAzureStats, SimBucketLimits, SimRequestKind } from './sim-world.js';

/**
 * A simulated Azure subscription for the embedded default and tests: the Arc machines of one
 * resource group, their extensions as long-running operations, role assignments with ARM's rules,
 * onboarding tokens, optional ARM throttling, and request counters. Time comes from the clock:
 * nothing runs in the background, every state is computed when asked.
 */
export interface SimAzure {
  readonly settings: { readonly subscriptionId: string; readonly resourceGroup: string; readonly location: string; readonly tenantId: string };
  /** A fresh Arc port over this subscription (a new one stands for another process: state is shared). */
  arcMachines(): ArcMachinesPort;
  access(): AccessPort;
  onboardingCredentials(): OnboardingCredentials;

  /**
   * What the VM's cloud-init does in reality: starts `azcmagent connect`. The machine appears after
   * `appearAfterMs` and connects after `connectAfterMs`, unless {@link planOnboarding} said otherwise.
   * With `accessToken`, the onboarding fails (machine never appears) unless it is a token this
   * subscription minted and it has not expired. Re-running for an existing machine updates its tags.
   * With `fresh` (a new agent: the VM's disk was reimaged, the old agent's identity is gone), an
   * existing machine is onboarded again under the same name, so the same resource id: its timeline
   * starts over and the token is checked as for a new machine.
   */
  simulateOnboarding(
    machineName: string,
    tags: Readonly<Record<string, string>>,
    options?: { readonly accessToken?: string; readonly fresh?: boolean },
  ): void;
  /** Sets how the next onboarding of the machine `machineName` ends. */
  planOnboarding(machineName: string, outcome: OnboardingOutcome): void;
  /** The agent stops reporting (status `Disconnected`) / reports again (`Connected`). */
  disconnect(machineName: string): void;
  reconnect(machineName: string): void;
  /** A machine that exists at once with this status (default Connected). */
  seedMachine(name: string, options?: { readonly status?: ArcMachineStatus; readonly tags?: Readonly<Record<string, string>> }): void;
  /** The next extension install on the machine fails with `reason`. */
  failNextExtension(machineName: string, reason?: string): void;
  /** How long extension installs run from now on, ms. */
  setExtensionInstallMs(ms: number): void;
  /** An assignment made by someone else, under any name. */
  seedRoleAssignment(a: { scope: string; name: string; role: AccessRole; principalId: string; principalType?: string }): RoleAssignment;
  /** Changes the subscription's cap of role assignments. */
  setRoleAssignmentLimit(n: number): void;
  /** Grants to this principal fail with `AZURE_PRINCIPAL_NOT_FOUND` (directory replication delay) until forgotten. */
  unknownPrincipal(principalId: string, unknown?: boolean): void;
  /** The next call of any port fails with `error` (and does nothing else). */
  failNext(error: unknown): void;
  /** Adds latency to every call, ms. */
  latency(ms: number): void;
  stats(): SimAzureStats;
}

export function createSimAzure(options: SimAzureOptions = {}): SimAzure {
  const world = new SimWorld(options);
  const lower = (s: string) => s.toLowerCase();
  const tokenValid = (token: string) => {
    const expires = world.tokens.get(token);
    return expires !== undefined && expires > world.now();
  };

  return {
    settings: { subscriptionId: world.subscriptionId, resourceGroup: world.resourceGroup, location: world.location, tenantId: world.tenantId },
    arcMachines: () => createSimArcMachines(world),
    access: () => createSimAccess(world),
    onboardingCredentials: () => ({
      async mintAccessToken() {
        await world.gate();
        world.countMint();
        const token = `sim-onboarding.${randomBytes(24).toString('base64url')}`;
        const expiresOn = world.now() + world.tokenLifetimeMs;
        world.tokens.set(token, expiresOn);
        return { token, expiresOn: new Date(expiresOn) };
      },
    }),

    simulateOnboarding(machineName, tags, opts = {}) {
      const existing = world.machines.get(lower(machineName));
      if (existing !== undefined && world.statusOf(existing) !== undefined && opts.fresh !== true) {
        existing.tags = { ...tags };
        return;
      }
      const planned = world.plannedOutcomes.get(lower(machineName)) ?? 'connect';
      world.plannedOutcomes.delete(lower(machineName));
      const outcome = opts.accessToken !== undefined && !tokenValid(opts.accessToken) ? 'never-connect' : planned;
      world.machines.set(lower(machineName), {
        name: machineName,
        tags: { ...tags },
        startedAt: world.now(),
        outcome,
        agentVersion: '1.48.02881.1941',
      });
    },
    planOnboarding: (machineName, outcome) => void world.plannedOutcomes.set(lower(machineName), outcome),
    disconnect(machineName) {
      const m = world.machines.get(lower(machineName));
      if (m !== undefined) m.forced = { status: 'Disconnected', at: world.now() };
    },
    reconnect(machineName) {
      const m = world.machines.get(lower(machineName));
      if (m !== undefined) m.forced = { status: 'Connected', at: world.now() };
    },
    seedMachine(name, opts = {}) {
      const startedAt = world.now() - world.connectAfterMs;
      const status = opts.status ?? 'Connected';
      world.machines.set(lower(name), {
        name,
        tags: { ...(opts.tags ?? {}) },
        startedAt,
        outcome: 'connect',
        agentVersion: '1.48.02881.1941',
        ...(status === 'Connected' ? {} : { forced: { status, at: startedAt } }),
      });
    },
    failNextExtension: (machineName, reason = 'ExtensionOperationFailed: the extension handler reported an error (simulated).') =>
      void world.extensionFailures.set(lower(machineName), reason),
    setExtensionInstallMs: (ms) => void (world.extensionInstallMs = ms),
    seedRoleAssignment: (a) => seedAssignment(world, a),
    setRoleAssignmentLimit: (n) => void (world.roleAssignmentLimit = n),
    unknownPrincipal(principalId, unknown = true) {
      if (unknown) world.unknownPrincipals.add(lower(principalId));
      else world.unknownPrincipals.delete(lower(principalId));
    },
    failNext: (error) => world.failNext(error),
    latency: (ms) => void (world.latencyMs = ms),
    stats: () => world.stats(),
  };
}
