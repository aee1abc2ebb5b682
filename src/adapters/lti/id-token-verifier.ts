import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { LAUNCH_CLOCK_SKEW_SECONDS, LtiLaunchRefused, type PlatformTokenVerifier } from '../../domain/lti/launch.js';
import type { PlatformFetch } from '../../domain/lti/ports.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';

export interface IdTokenVerifierOptions {
  /** How the platform's JWKS is fetched (the SSRF guard in a deployment). */
  readonly fetch: PlatformFetch;
  readonly clock?: Clock;
  /** Least time between two refetches of one JWKS on an unknown `kid`, ms (default 30 s). */
  readonly cooldownMs?: number;
  /** A fetched JWKS is used this long before it is fetched again, ms (default 10 min). */
  readonly cacheMaxAgeMs?: number;
  /** Longest wait for a JWKS, ms (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * Verifies platforms' id_tokens (LTI 1.3 Core §5.1.3) with jose: the header must say RS256 (no
 * `none`, no HMAC: a platform's public key used as an HMAC secret is the classic algorithm
 * confusion) and carry a `kid`; the key comes from the registration's JWKS, one remote set per URL
 * (cached; refetched on an unknown `kid` at most once per cooldown).
 */
export function createIdTokenVerifier(options: IdTokenVerifierOptions): PlatformTokenVerifier {
  const clock = options.clock ?? systemClock;
  const sets = new Map<string, JWTVerifyGetKey>();
  const fetchJwks = (url: string, init: RequestInit): Promise<Response> => options.fetch(url, init);

  function jwksOf(url: string): JWTVerifyGetKey {
    let set = sets.get(url);
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(url), {
        [customFetch]: fetchJwks,
        cooldownDuration: options.cooldownMs ?? 30_000,
        cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
        timeoutDuration: options.timeoutMs ?? 5_000,
      });
      sets.set(url, set);
    }
    return set;
  }

  return {
    async verify(idToken, registration) {
      let header: ReturnType<typeof decodeProtectedHeader>;
      try {
        header = decodeProtectedHeader(idToken);
      } catch {
        throw new LtiLaunchRefused(400, 'malformed', 'The id_token is not a signed JWT.');
      }
      if (header.alg !== 'RS256') throw new LtiLaunchRefused(401, 'alg', 'The id_token must be signed with RS256.');
      if (typeof header.kid !== 'string' || header.kid === '') throw new LtiLaunchRefused(401, 'kid', 'The id_token names no key (kid).');
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(idToken, jwksOf(registration.jwksUrl), {
          algorithms: ['RS256'],
          issuer: registration.issuer,
          audience: registration.clientId,
          clockTolerance: LAUNCH_CLOCK_SKEW_SECONDS,
          currentDate: clock.now(),
          requiredClaims: ['exp', 'iat'],
        }));
      } catch (err) {
        throw refusalOf(err);
      }
      const iat = payload['iat'];
      if (typeof iat !== 'number' || iat > clock.now().getTime() / 1000 + LAUNCH_CLOCK_SKEW_SECONDS) {
        throw new LtiLaunchRefused(401, 'iat', 'The id_token was issued in the future; check the platform clock.');
      }
      return payload;
    },
  };
}

function refusalOf(err: unknown): LtiLaunchRefused {
  if (err instanceof errors.JWTExpired) return new LtiLaunchRefused(401, 'expired', 'The launch has expired; launch again from the course.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return new LtiLaunchRefused(401, 'iss', 'The id_token was issued by another platform than the registration names.');
    if (err.claim === 'aud') return new LtiLaunchRefused(401, 'aud', 'The id_token was issued for another tool (aud).');
    if (err.claim === 'iat' || err.claim === 'nbf')
      return new LtiLaunchRefused(401, err.claim, 'The id_token is not valid yet; check the platform clock.');
    return new LtiLaunchRefused(401, 'claims', `The id_token lacks a valid ${err.claim} claim.`);
  }
  if (err instanceof errors.JWKSNoMatchingKey)
    return new LtiLaunchRefused(401, 'unknown_key', "The id_token's key is not among the platform's published keys.");
  if (err instanceof errors.JWKSMultipleMatchingKeys)
    return new LtiLaunchRefused(401, 'ambiguous_key', "Several of the platform's keys match the id_token's kid.");
  if (err instanceof errors.JWSSignatureVerificationFailed) return new LtiLaunchRefused(401, 'signature', 'The id_token signature is not valid.');
  if (err instanceof errors.JOSEAlgNotAllowed) return new LtiLaunchRefused(401, 'alg', 'The id_token must be signed with RS256.');
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid || err instanceof errors.JOSENotSupported) {
    return new LtiLaunchRefused(
      502,
      'jwks',
      "The platform's keys (JWKS) could not be read; try again later or ask the administrator to check the registration.",
    );
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid)
    return new LtiLaunchRefused(400, 'malformed', 'The id_token is malformed.');
  // A failed fetch of the JWKS (refused by the outbound guard, unreachable, non-2xx).
  return new LtiLaunchRefused(
    502,
    'jwks',
    "The platform's keys (JWKS) could not be read; try again later or ask the administrator to check the registration.",
  );
}
