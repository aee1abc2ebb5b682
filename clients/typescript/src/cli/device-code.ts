import type { AccessToken, DeviceCodeCredentialOptions, DeviceCodeInfo } from '@azure/identity';

export interface DeviceCodeLogin {
  /** The Entra ID (Azure AD) tenant the users sign in to. */
  readonly tenantId: string;
  /** The client id of a public client app registration allowed to ask for the API's scope. */
  readonly clientId: string;
  /** The API's scope, e.g. `api://labplane/.default` (an application id URI of `AUTH_AUDIENCES` and `/.default`). */
  readonly scope: string;
}

interface TokenCredentialLike {
  getToken(scopes: string | string[]): Promise<AccessToken | null>;
}

export type CredentialFactory = (options: DeviceCodeCredentialOptions) => TokenCredentialLike;

/** The library's own credential (loaded only when device code sign-in is used: it is large). */
export const azureDeviceCode: CredentialFactory = (options) => {
  let credential: TokenCredentialLike | undefined;
  return {
    async getToken(scopes) {
      if (credential === undefined) {
        const { DeviceCodeCredential } = await import('@azure/identity');
        credential = new DeviceCodeCredential(options);
      }
      return credential.getToken(scopes);
    },
  };
};

/**
 * Signs in with the OAuth 2.0 device authorization grant through @azure/identity's
 * DeviceCodeCredential: the user is told (on `prompt`) where to enter which code, and the access
 * token for the API's scope is returned.
 */
export async function signInWithDeviceCode(
  login: DeviceCodeLogin,
  prompt: (message: string) => void,
  factory: CredentialFactory = azureDeviceCode,
): Promise<AccessToken> {
  const credential = factory({
    tenantId: login.tenantId,
    clientId: login.clientId,
    userPromptCallback: (info: DeviceCodeInfo) => prompt(info.message),
  });
  const token = await credential.getToken(login.scope);
  if (token === null) throw new Error('Azure AD gave no token for the scope.');
  return token;
}
