import { MESSAGE_TYPE, NRPS_SCOPE } from './claims.js';

/** The tool's fixed paths (absolute URLs are made from the service's public origin). */
export const LTI_PATHS = {
  /** OIDC third-party login initiation (LTI 1.3 Core / 1EdTech Security Framework §5.1.1). */
  login: '/lti/login',
  /** Where the platform posts the id_token: resource link launches and Deep Linking requests alike. */
  launch: '/lti/launch',
  /** The tool's public keys. */
  jwks: '/lti/jwks',
} as const;

export const TOOL_TITLE = 'labplane labs';
export const TOOL_DESCRIPTION = 'Course virtual machine labs: each student opens their own lab VM from the course.';

/** LTI variables the tool asks for as custom parameters (the primary email finds the student in the directory). */
export const TOOL_CUSTOM_FIELDS: Readonly<Record<string, string>> = { person_email_primary: '$Person.email.primary' };

/** What an LMS administrator enters to add the tool (see docs/lti.md). */
export interface LtiToolConfiguration {
  readonly urls: { readonly login: string; readonly launch: string; readonly deepLinking: string; readonly jwks: string };
  /** Canvas developer key (LTI key) JSON configuration, pasted as is. */
  readonly canvas: Record<string, unknown>;
  /** The fields of Moodle's "Configure a tool manually" form. */
  readonly moodle: {
    readonly toolName: string;
    readonly toolUrl: string;
    readonly toolDescription: string;
    readonly ltiVersion: 'LTI 1.3';
    readonly publicKeyType: 'Keyset URL';
    readonly publicKeysetUrl: string;
    readonly initiateLoginUrl: string;
    readonly redirectionUris: readonly string[];
    readonly customParameters: string;
    readonly supportsDeepLinking: boolean;
    readonly contentSelectionUrl: string;
    readonly namesAndRoleProvisioning: string;
    readonly shareLauncherName: string;
    readonly shareLauncherEmail: string;
  };
}

/** The tool configuration for a service reachable at `origin` (scheme, host and port; a path prefix is kept). */
export function ltiToolConfiguration(origin: string): LtiToolConfiguration {
  const base = origin.replace(/\/+$/, '');
  const urls = { login: base + LTI_PATHS.login, launch: base + LTI_PATHS.launch, deepLinking: base + LTI_PATHS.launch, jwks: base + LTI_PATHS.jwks };
  const domain = new URL(base).host;
  const canvas = {
    title: TOOL_TITLE,
    description: TOOL_DESCRIPTION,
    oidc_initiation_url: urls.login,
    target_link_uri: urls.launch,
    public_jwk_url: urls.jwks,
    scopes: [NRPS_SCOPE],
    extensions: [
      {
        platform: 'canvas.instructure.com',
        domain,
        privacy_level: 'public',
        settings: {
          text: TOOL_TITLE,
          placements: [
            {
              placement: 'course_navigation',
              message_type: MESSAGE_TYPE.resourceLink,
              target_link_uri: urls.launch,
              text: 'VM lab',
              enabled: true,
              default: 'enabled',
            },
            { placement: 'link_selection', message_type: MESSAGE_TYPE.deepLinkingRequest, target_link_uri: urls.deepLinking, text: 'VM lab' },
            { placement: 'assignment_selection', message_type: MESSAGE_TYPE.deepLinkingRequest, target_link_uri: urls.deepLinking, text: 'VM lab' },
          ],
        },
      },
    ],
    custom_fields: { ...TOOL_CUSTOM_FIELDS },
  };
  const moodle = {
    toolName: TOOL_TITLE,
    toolUrl: urls.launch,
    toolDescription: TOOL_DESCRIPTION,
    ltiVersion: 'LTI 1.3' as const,
    publicKeyType: 'Keyset URL' as const,
    publicKeysetUrl: urls.jwks,
    initiateLoginUrl: urls.login,
    redirectionUris: [urls.launch],
    customParameters: Object.entries(TOOL_CUSTOM_FIELDS)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    supportsDeepLinking: true,
    contentSelectionUrl: urls.deepLinking,
    namesAndRoleProvisioning: "Use this service to retrieve members' information as per privacy settings",
    shareLauncherName: 'Always',
    shareLauncherEmail: 'Always',
  };
  return { urls, canvas, moodle };
}
