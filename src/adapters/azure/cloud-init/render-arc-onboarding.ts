import { readFile } from 'node:fs/promises';
import { ARC_CLUSTER_NAME, ARC_MACHINE_NAME, ARC_TAG_CLUSTER, ARC_TAG_TENANT, ARC_TAG_VM_ID } from '../../../domain/identity/arc-machine.js';
import type { ArcOnboardingInput, ArcUserDataRenderer, RenderedUserData } from '../../../domain/identity/onboarding.js';
import { PreconditionFailedError, ValidationError, type FieldIssue } from '../../../domain/shared/errors.js';
import { renderTemplate } from './template.js';

export interface ArcUserDataRendererOptions {
  /**
   * Allows the service-principal fallback (a long-lived secret inside the VM). Off unless a platform
   * setting explicitly turns it on; with it off, rendering a service-principal input is refused.
   */
  readonly allowServicePrincipal?: boolean;
  /** The template (default `arc-onboarding.yaml.tpl` next to this module). */
  readonly templatePath?: string | URL;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Tag values are joined as `k=v,k=v` for `azcmagent --tags`: they must not hold `,` or `=`. */
const TAG_VALUE = /^[^,=\p{Cc}]{1,256}$/u;
const NO_CONTROL = /^[^\p{Cc}]+$/u;

function check(input: ArcOnboardingInput): void {
  const issues: FieldIssue[] = [];
  const need = (ok: boolean, field: string, message: string) => void (ok || issues.push({ field, message }));
  need(ARC_MACHINE_NAME.test(input.machineName), 'machineName', 'must be 1-54 letters, digits, "-", "_" or "."');
  need(TAG_VALUE.test(input.tenant), 'tenant', 'must be a tag value without "," or "="');
  need(GUID.test(input.vmId), 'vmId', 'must be a UUID');
  need(GUID.test(input.target.subscriptionId), 'target.subscriptionId', 'must be a GUID');
  need(GUID.test(input.target.tenantId), 'target.tenantId', 'must be a GUID');
  need(NO_CONTROL.test(input.target.resourceGroup), 'target.resourceGroup', 'must be a resource group name');
  need(NO_CONTROL.test(input.target.location), 'target.location', 'must be an Azure region');
  need(NO_CONTROL.test(input.target.cloud ?? 'AzureCloud'), 'target.cloud', 'must be an Azure cloud name');
  need(input.target.cluster === undefined || ARC_CLUSTER_NAME.test(input.target.cluster), 'target.cluster', 'must be a DNS label');
  const secret = input.secret.kind === 'access-token' ? input.secret.token : input.secret.clientSecret;
  need(NO_CONTROL.test(secret), 'secret', 'must be a non-empty single-line credential');
  if (input.secret.kind === 'service-principal') need(GUID.test(input.secret.clientId), 'secret.clientId', 'must be a GUID');
  if (issues.length > 0) throw new ValidationError('The Arc onboarding input is not valid.', issues);
}

/**
 * Renders the Arc onboarding cloud-init from its template file. The template is read on first use
 * (nothing happens at import or construction time) and kept.
 */
export function createArcUserDataRenderer(options: ArcUserDataRendererOptions = {}): ArcUserDataRenderer {
  const path = options.templatePath ?? new URL('./arc-onboarding.yaml.tpl', import.meta.url);
  let template: Promise<string> | undefined;
  const load = () => (template ??= readFile(path, 'utf8'));

  return {
    async render(input): Promise<RenderedUserData> {
      if (input.secret.kind === 'service-principal' && options.allowServicePrincipal !== true) {
        throw new PreconditionFailedError(
          'ARC_SERVICE_PRINCIPAL_NOT_ALLOWED',
          'Onboarding with a service principal secret is off; use an onboarding access token or enable the fallback setting.',
        );
      }
      check(input);
      const text = await load();
      const values: Record<string, string> = {
        subscriptionId: input.target.subscriptionId,
        resourceGroup: input.target.resourceGroup,
        tenantId: input.target.tenantId,
        location: input.target.location,
        cloud: input.target.cloud ?? 'AzureCloud',
        machineName: input.machineName,
        tags: [
          `${ARC_TAG_TENANT}=${input.tenant}`,
          `${ARC_TAG_VM_ID}=${input.vmId}`,
          ...(input.target.cluster === undefined ? [] : [`${ARC_TAG_CLUSTER}=${input.target.cluster}`]),
        ].join(','),
      };
      const flags = { accessToken: input.secret.kind === 'access-token', servicePrincipal: input.secret.kind === 'service-principal' };
      if (input.secret.kind === 'service-principal') values['clientId'] = input.secret.clientId;
      const credential = input.secret.kind === 'access-token' ? input.secret.token : input.secret.clientSecret;
      return {
        userData: renderTemplate(text, { ...values, credential }, { ...flags, secret: true }),
        scrubbedUserData: renderTemplate(text, values, { ...flags, secret: false }),
      };
    },
  };
}
