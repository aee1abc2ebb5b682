import type { AutoShutdownProfile } from '../../domain/usage/auto-shutdown.js';
import {
  autoShutdownProfileOf,
  type CostControls,
  type CostControlsInput,
  type LabCostControls,
  type LabCostControlsInput,
} from '../../domain/usage/cost-controls.js';
import type { components } from '../generated/openapi.js';

type Schemas = components['schemas'];

/** The wire shape of an auto-shutdown profile (known fields only). */
export function autoShutdownDto(p: AutoShutdownProfile): Schemas['AutoShutdownProfile'] {
  return autoShutdownProfileOf(p);
}

export function costControlsDto(c: CostControls): Schemas['CostControls'] {
  return { autoShutdown: autoShutdownDto(c.autoShutdown), warningPeriod: c.warningPeriod };
}

export function labCostControlsDto(c: LabCostControls): Schemas['LabCostControls'] {
  return {
    ...costControlsDto(c),
    exemptClassHours: c.exemptClassHours,
    ...(c.usageQuotaHours === undefined ? {} : { usageQuotaHours: c.usageQuotaHours }),
    addedHours: { ...c.addedHours },
  };
}

/**
 * Cost controls as sent. The contract has checked the shape; the use case checks the values (and
 * refuses what the contract let through, such as `addedHours`), so the body goes on as it came.
 */
export function costControlsInputOf(c: Schemas['CostControlsInput']): CostControlsInput {
  return c as CostControlsInput;
}

export function labCostControlsInputOf(c: Schemas['LabCostControlsInput']): LabCostControlsInput {
  return c as LabCostControlsInput;
}
