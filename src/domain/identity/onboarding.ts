/** A bearer token for Azure Resource Manager. Secret: never log, store in job data, or return from the API. */
export interface OnboardingToken {
  readonly token: string;
  /** When ARM stops accepting it. */
  readonly expiresOn: Date;
}

/**
 * Mints short-lived ARM access tokens of the dedicated onboarding identity, which holds nothing but
 * "Azure Connected Machine Onboarding" on the target resource group. Each VM gets its own token (in
 * its cloud-init Secret); the token lets `azcmagent connect` register one machine and expires within
 * about an hour. Never the control plane's own credential.
 *
 * Implementations guarantee a token that stays valid at least their configured minimum lifetime
 * (default 10 minutes) and throw UpstreamUnavailableError when the identity provider cannot issue
 * one (retry later) or UpstreamRejectedError when the identity is misconfigured. No error, log line
 * or other return value ever carries the token.
 */
export interface OnboardingCredentials {
  mintAccessToken(): Promise<OnboardingToken>;
}

/** Where the Arc machine is registered. */
export interface ArcTarget {
  /** GUID. */
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  /** Azure region name, e.g. `westeurope`. */
  readonly location: string;
  /** Azure AD tenant GUID. */
  readonly tenantId: string;
  /** `azcmagent connect --cloud`; default `AzureCloud`. */
  readonly cloud?: string;
  /**
   * This labplane installation's name, put on every machine it onboards (tag `labplane-cluster`);
   * with it, the installation removes its machines whose VM is gone (see `createArcMachineJanitor`).
   */
  readonly cluster?: string;
}

/** How the VM proves itself to ARM when it connects. */
export type OnboardingSecret =
  /** A token from {@link OnboardingCredentials}: the default. */
  | { readonly kind: 'access-token'; readonly token: string }
  /**
   * A service principal secret: a long-lived secret in the VM, so only when the platform setting
   * explicitly allows it (renderers refuse it otherwise).
   */
  | { readonly kind: 'service-principal'; readonly clientId: string; readonly clientSecret: string };

export interface ArcOnboardingInput {
  /** The Arc resource name (from `arcMachineName`: the tenant and the VM name). */
  readonly machineName: string;
  /** labplane tenant id (tag `labplane-tenant`). */
  readonly tenant: string;
  /** labplane VM UUID (tag `labplane-vm-id`). */
  readonly vmId: string;
  readonly target: ArcTarget;
  readonly secret: OnboardingSecret;
}

/**
 * The VM's cloud-init user-data for Arc onboarding. Both texts go into the VM's cloud-init Secret
 * (never into the VM object, logs, job data or API responses).
 */
export interface RenderedUserData {
  /** `#cloud-config` YAML carrying the onboarding secret exactly once. */
  readonly userData: string;
  /** The same without any secret, to replace `userData` in the Secret once the machine is connected. */
  readonly scrubbedUserData: string;
}

/** Renders the onboarding cloud-init from its template. Throws ValidationError on malformed input. */
export interface ArcUserDataRenderer {
  render(input: ArcOnboardingInput): Promise<RenderedUserData>;
}
