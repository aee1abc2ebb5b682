export { createArmAccess, type ArmAccessDeps } from './access.js';
export { createArmArcMachines, type ArmArcMachinesDeps } from './arc-machines.js';
export {
  armBudgetPolicy,
  createArmBudget,
  DEFAULT_ARM_LIMITS,
  type ArmBudget,
  type ArmBudgetOptions,
  type ArmBudgetStats,
  type ArmRequestKind,
  type BucketLimits,
} from './arm-budget.js';
export { AzureApiError, translateArmError } from './arm-errors.js';
export { createArcUserDataRenderer, type ArcUserDataRendererOptions } from './cloud-init/render-arc-onboarding.js';
export {
  createControlPlaneCredential,
  createOnboardingCredentials,
  createOnboardingTokenCredential,
  type AzureAuthorityOptions,
  type AzureIdentitySettings,
  type OnboardingCredentialsDeps,
} from './credentials.js';
export { silentAzureLogger, type AzureLogger } from './logger.js';
export { assertAzureArmSettings, type AzureArmSettings } from './settings.js';
