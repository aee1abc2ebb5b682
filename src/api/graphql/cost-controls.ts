import type { AutoShutdownProfile, IdleMode, UsageThresholds } from '../../domain/usage/auto-shutdown.js';
import { autoShutdownProfileOf, type CostControlsInput, type LabCostControls, type LabCostControlsInput } from '../../domain/usage/cost-controls.js';

type Maybe<T> = T | null | undefined;

/** `AutoShutdownProfileInput` as GraphQL hands it over (thresholds may be an explicit null). */
export interface AutoShutdownArg {
  readonly shutdownOnDisconnect: { readonly enabled: boolean; readonly delay: string };
  readonly shutdownWhenNotConnected: { readonly enabled: boolean; readonly delay: string };
  readonly shutdownOnIdle: { readonly mode: IdleMode; readonly delay: string; readonly thresholds?: Maybe<UsageThresholds> };
}

export interface CostControlsArg {
  readonly autoShutdown?: Maybe<AutoShutdownArg>;
  readonly warningPeriod?: Maybe<string>;
}

export interface LabCostControlsArg extends CostControlsArg {
  readonly exemptClassHours?: Maybe<boolean>;
  readonly usageQuotaHours?: Maybe<number>;
}

function profileOf(a: AutoShutdownArg): AutoShutdownProfile {
  const { thresholds, ...idle } = a.shutdownOnIdle;
  return autoShutdownProfileOf({ ...a, shutdownOnIdle: { ...idle, ...(thresholds == null ? {} : { thresholds }) } });
}

/** Nulls mean "not given". */
export function costControlsOf(a: CostControlsArg): CostControlsInput {
  return {
    ...(a.autoShutdown == null ? {} : { autoShutdown: profileOf(a.autoShutdown) }),
    ...(a.warningPeriod == null ? {} : { warningPeriod: a.warningPeriod }),
  };
}

/** Nulls mean "not given", except `usageQuotaHours: null` on an update, which removes the quota. */
export function labCostControlsOf(a: LabCostControlsArg, update: boolean): LabCostControlsInput {
  return {
    ...costControlsOf(a),
    ...(a.exemptClassHours == null ? {} : { exemptClassHours: a.exemptClassHours }),
    ...(a.usageQuotaHours === undefined || (a.usageQuotaHours === null && !update) ? {} : { usageQuotaHours: a.usageQuotaHours }),
  };
}

/** `LabCostControls.addedHours`: the map of the REST shape as a list sorted by student id. */
export const labCostControlsResolvers = {
  LabCostControls: {
    addedHours: (c: Pick<LabCostControls, 'addedHours'>) =>
      Object.entries(c.addedHours)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([student, hours]) => ({ student, hours })),
  },
};
