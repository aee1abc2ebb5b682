import type { ArmRequest, ArmResponse } from './arm-state.js';

/** What the fake Azure AD token endpoint issued and how it should answer next. */
export interface AadState {
  /** Access tokens issued, in order. */
  readonly issued: string[];
  /** Client secrets presented (to check they never leak elsewhere). */
  readonly secrets: string[];
  /** Lifetime of issued tokens, seconds. */
  expiresIn: number;
  /** The next token request answers this OAuth error instead. */
  failNext: { status: number; error: string; description: string } | undefined;
}

export function aadState(): AadState {
  return { issued: [], secrets: [], expiresIn: 3599, failNext: undefined };
}

/**
 * Azure AD's OpenID discovery document and client-credentials token endpoint, enough for MSAL's
 * ClientSecretCredential (with instance discovery off). Returns undefined for other paths.
 */
export function aadRoute(aad: AadState, req: ArmRequest, baseUrl: string): ArmResponse | undefined {
  const m = /^\/([0-9a-f-]{36})\/(v2\.0\/\.well-known\/openid-configuration|oauth2\/v2\.0\/token)$/i.exec(req.path);
  if (m === null) return undefined;
  const tenant = m[1] ?? '';
  if (req.method === 'GET') {
    return {
      status: 200,
      body: {
        issuer: `${baseUrl}/${tenant}/v2.0`,
        token_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${baseUrl}/${tenant}/oauth2/v2.0/logout`,
        jwks_uri: `${baseUrl}/${tenant}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'token'],
      },
    };
  }
  const form = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
  const secret = form.get('client_secret');
  if (secret !== null) aad.secrets.push(secret);
  if (aad.failNext !== undefined) {
    const { status, error, description } = aad.failNext;
    aad.failNext = undefined;
    return { status, body: { error, error_description: description, error_codes: [7000215], correlation_id: 'c0rr' } };
  }
  const token = `eyJ0eXAiOiJKV1QifQ.onboarding-${aad.issued.length + 1}.c2ln`;
  aad.issued.push(token);
  return { status: 200, body: { token_type: 'Bearer', expires_in: aad.expiresIn, ext_expires_in: aad.expiresIn, access_token: token } };
}
