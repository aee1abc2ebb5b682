import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolSigningKey } from '../../src/domain/lti/ports.js';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE, NRPS_MEDIA_TYPE, NRPS_SCOPE, ROLE } from '../../src/domain/lti/claims.js';
import { startSimLms, type SimLmsHarness } from './support/sim-lms-harness.js';

let h: SimLmsHarness;
beforeAll(async () => {
  h = await startSimLms();
});
afterAll(async () => h.close());

const iss = () => `${h.origin}/sim/lms`;

function decodeEntities(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

interface Button {
  readonly label: string;
  readonly action: string;
  readonly fields: Record<string, string>;
}

/** The launch buttons on a course page (GET forms). */
async function buttons(course: string): Promise<Button[]> {
  const res = await fetch(`${h.origin}/sim/lms/courses/${course}`);
  expect(res.status).toBe(200);
  const html = await res.text();
  const out: Button[] = [];
  for (const m of html.matchAll(/<form class="inline" method="get" action="([^"]*)">(.*?)<button type="submit">(.*?)<\/button><\/form>/g)) {
    const fields: Record<string, string> = {};
    for (const f of (m[2] ?? '').matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
      fields[decodeEntities(f[1] ?? '')] = decodeEntities(f[2] ?? '');
    out.push({ action: decodeEntities(m[1] ?? ''), fields, label: decodeEntities(m[3] ?? '') });
  }
  return out;
}

function authParams(b: Button, overrides: Record<string, string | undefined> = {}): URLSearchParams {
  const p: Record<string, string | undefined> = {
    scope: 'openid',
    response_type: 'id_token',
    response_mode: 'form_post',
    prompt: 'none',
    client_id: b.fields.client_id,
    redirect_uri: `${h.origin}/lti/launch`,
    login_hint: b.fields.login_hint,
    lti_message_hint: b.fields.lti_message_hint,
    nonce: randomUUID(),
    state: randomUUID(),
    ...overrides,
  };
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) q.set(k, v);
  return q;
}

/** The id_token (and state) the authorization endpoint form-posts back. */
async function authorize(q: URLSearchParams): Promise<{ status: number; html: string; idToken?: string; state?: string; csp: string | null }> {
  const res = await fetch(`${h.origin}/sim/lms/auth?${q.toString()}`);
  const html = await res.text();
  const idToken = /name="id_token" value="([^"]*)"/.exec(html)?.[1];
  const state = /name="state" value="([^"]*)"/.exec(html)?.[1];
  return {
    status: res.status,
    html,
    csp: res.headers.get('content-security-policy'),
    ...(idToken ? { idToken } : {}),
    ...(state ? { state: decodeEntities(state) } : {}),
  };
}

async function verifyIdToken(token: string, nonce?: string): Promise<JWTPayload & Record<string, unknown>> {
  const jwks = (await (await fetch(`${iss()}/jwks`)).json()) as Parameters<typeof createLocalJWKSet>[0];
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: iss(), audience: h.lms.clientId, algorithms: ['RS256'] });
  if (nonce !== undefined) expect(payload.nonce).toBe(nonce);
  return payload as JWTPayload & Record<string, unknown>;
}

async function deepLinkRequest(): Promise<Record<string, unknown>> {
  const add = (await buttons('CS101')).find((b) => b.label.startsWith('Add labplane') && b.fields.login_hint === 'sim-instructor');
  expect(add).toBeDefined();
  const q = authParams(add as Button);
  const { idToken } = await authorize(q);
  return verifyIdToken(idToken ?? '', q.get('nonce') ?? undefined);
}

async function deepLinkResponse(
  settings: Record<string, unknown>,
  over: Record<string, unknown> = {},
  key?: ToolSigningKey,
  exp?: number,
): Promise<string> {
  const k = key ?? (await h.keys.current());
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    iss: h.lms.clientId,
    aud: iss(),
    nonce: randomUUID(),
    [CLAIM.deploymentId]: h.lms.deploymentId,
    [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingResponse,
    [CLAIM.version]: LTI_VERSION,
    [CLAIM.deepLinkingData]: settings.data,
    [CLAIM.deepLinkingContentItems]: [
      { type: 'ltiResourceLink', title: 'Linux lab', url: `${h.origin}/lti/launch`, custom: { labplane_lab: 'linux-101' } },
    ],
    ...over,
  };
  for (const [name, v] of Object.entries(claims)) if (v === undefined) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: k.kid, typ: 'JWT' })
    .setIssuedAt(now)
    .setExpirationTime(exp ?? now + 300)
    .sign(k.privateKey);
}

async function postReturn(jwt: string | undefined): Promise<{ status: number; html: string }> {
  const res = await fetch(`${iss()}/deep-link-return`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(jwt === undefined ? {} : { JWT: jwt }),
  });
  return { status: res.status, html: await res.text() };
}

describe('simulated LMS pages', () => {
  it('lists the demo courses', async () => {
    const res = await fetch(`${h.origin}/sim/lms`);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('CS101 Introduction to Linux');
    expect(html).toContain('NET210');
    expect(h.lms.course('CS101')?.members).toHaveLength(35);
  });

  it('offers instructors (not learners) the Deep Linking button, as a third-party initiated login to the tool', async () => {
    const all = await buttons('CS101');
    const add = all.filter((b) => b.label.startsWith('Add labplane'));
    expect(add.map((b) => b.fields.login_hint).sort()).toEqual(['sim-instructor', 'sim-ta']);
    const b = add[0] as Button;
    expect(b.action).toBe(`${h.origin}/lti/login`);
    expect(Object.keys(b.fields).sort()).toEqual(['client_id', 'iss', 'login_hint', 'lti_deployment_id', 'lti_message_hint', 'target_link_uri']);
    expect(b.fields).toMatchObject({
      iss: iss(),
      client_id: h.lms.clientId,
      lti_deployment_id: h.lms.deploymentId,
      target_link_uri: `${h.origin}/lti/launch`,
    });
  });

  it('answers 404 for an unknown course', async () => {
    const res = await fetch(`${h.origin}/sim/lms/courses/NOPE`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('authorization endpoint', () => {
  it('answers a self-posting form with an LTI Deep Linking request id_token', async () => {
    const add = (await buttons('CS101')).find((b) => b.label.startsWith('Add labplane') && b.fields.login_hint === 'sim-instructor') as Button;
    const q = authParams(add);
    const a = await authorize(q);
    expect(a.status).toBe(200);
    expect(a.html).toContain(`<form id="lti-form-post" method="post" action="${h.origin}/lti/launch">`);
    expect(a.html).toContain('<script src="/sim/lms/assets/autosubmit.js"></script>');
    expect(a.csp).toContain(`form-action 'self' ${h.origin}`);
    expect(a.state).toBe(q.get('state'));
    const c = await verifyIdToken(a.idToken ?? '', q.get('nonce') ?? undefined);
    expect(c.sub).toBe('sim-instructor');
    expect((c.exp ?? 0) - (c.iat ?? 0)).toBe(300);
    expect(c.email).toMatch(/@uni\.labplane\.example$/);
    expect(c[CLAIM.messageType]).toBe(MESSAGE_TYPE.deepLinkingRequest);
    expect(c[CLAIM.version]).toBe('1.3.0');
    expect(c[CLAIM.deploymentId]).toBe(h.lms.deploymentId);
    expect(c[CLAIM.roles]).toEqual([ROLE.instructor]);
    expect(c[CLAIM.context]).toMatchObject({ id: 'CS101', label: 'CS101', title: 'Introduction to Linux' });
    expect(c[CLAIM.nrps]).toEqual({ context_memberships_url: `${iss()}/courses/CS101/memberships`, service_versions: ['2.0'] });
    expect(c[CLAIM.deepLinkingSettings]).toMatchObject({
      deep_link_return_url: `${iss()}/deep-link-return`,
      accept_types: ['ltiResourceLink'],
      accept_multiple: false,
    });
    expect(typeof (c[CLAIM.deepLinkingSettings] as { data?: unknown }).data).toBe('string');
  });

  const refusals: [string, Record<string, string | undefined>][] = [
    ['scope', { scope: 'openid profile' }],
    ['response_type', { response_type: 'code' }],
    ['response_mode', { response_mode: 'query' }],
    ['prompt', { prompt: 'login' }],
    ['client_id', { client_id: 'someone-else' }],
    ['redirect_uri', { redirect_uri: 'https://evil.example/steal' }],
    ['redirect_uri', { redirect_uri: undefined }],
    ['nonce', { nonce: undefined }],
    ['login_hint', { login_hint: 'sim-learner-01' }],
    ['lti_message_hint', { lti_message_hint: 'forged.hint' }],
  ];
  it.each(refusals)('refuses a request with a wrong %s (400 page, no id_token)', async (_name, over) => {
    const add = (await buttons('CS101')).find((b) => b.label.startsWith('Add labplane')) as Button;
    const a = await authorize(authParams(add, over));
    expect(a.status).toBe(400);
    expect(a.idToken).toBeUndefined();
    expect(a.html).toContain('role="alert"');
  });

  it('refuses a member who is no longer active', async () => {
    const add = (await buttons('CS101')).find((b) => b.fields.login_hint === 'sim-ta') as Button;
    h.lms.setStatus('CS101', 'sim-ta', 'Inactive');
    try {
      const a = await authorize(authParams(add));
      expect(a.status).toBe(403);
      expect(a.idToken).toBeUndefined();
    } finally {
      h.lms.setStatus('CS101', 'sim-ta', 'Active');
    }
  });
});

describe('Deep Linking return', () => {
  it('verifies the tool’s answer, places the link, and learners then launch it with its custom parameters', async () => {
    const settings = (await deepLinkRequest())[CLAIM.deepLinkingSettings] as Record<string, unknown>;
    const r = await postReturn(await deepLinkResponse(settings));
    expect(r.status).toBe(200);
    expect(r.html).toContain('Linux lab');
    const link = h.lms.course('CS101')?.links.at(-1);
    expect(link).toMatchObject({ title: 'Linux lab', custom: { labplane_lab: 'linux-101' } });

    const launch = (await buttons('CS101')).find((b) => b.fields.login_hint === 'sim-learner-05' && b.label.startsWith('Launch Linux lab'));
    expect(launch).toBeDefined();
    const q = authParams(launch as Button);
    const c = await verifyIdToken((await authorize(q)).idToken ?? '', q.get('nonce') ?? undefined);
    expect(c[CLAIM.messageType]).toBe(MESSAGE_TYPE.resourceLink);
    expect(c[CLAIM.resourceLink]).toEqual({ id: link?.id, title: 'Linux lab' });
    expect(c[CLAIM.custom]).toEqual({ labplane_lab: 'linux-101' });
    expect(c[CLAIM.roles]).toEqual([ROLE.learner]);
    expect(c[CLAIM.targetLinkUri]).toBe(`${h.origin}/lti/launch`);
  });

  it('keeps a learner without email private', async () => {
    const launch = (await buttons('CS101')).find((b) => b.fields.login_hint === 'sim-private-1' && b.label.startsWith('Launch'));
    const c = await verifyIdToken((await authorize(authParams(launch as Button))).idToken ?? '');
    expect(c.email).toBeUndefined();
    expect(c.name).toBe('Pat Private');
  });

  const bad: [string, (s: Record<string, unknown>) => Promise<string | undefined>][] = [
    ['no JWT', () => Promise.resolve(undefined)],
    ['not a JWT', () => Promise.resolve('not-a-jwt')],
    ['signed with a key the tool does not publish', (s) => deepLinkResponse(s, {}, h.keys.stranger)],
    ['iss is not the client id', (s) => deepLinkResponse(s, { iss: 'someone-else' })],
    ['aud is not the platform', (s) => deepLinkResponse(s, { aud: 'https://other.example' })],
    ['no nonce', (s) => deepLinkResponse(s, { nonce: undefined })],
    ['wrong deployment', (s) => deepLinkResponse(s, { [CLAIM.deploymentId]: 'other-deployment' })],
    ['wrong message type', (s) => deepLinkResponse(s, { [CLAIM.messageType]: MESSAGE_TYPE.resourceLink })],
    ['no version', (s) => deepLinkResponse(s, { [CLAIM.version]: undefined })],
    ['data not returned', (s) => deepLinkResponse(s, { [CLAIM.deepLinkingData]: undefined })],
    ['data tampered', (s) => deepLinkResponse(s, { [CLAIM.deepLinkingData]: `${String(s.data)}x` })],
    ['expired', (s) => deepLinkResponse(s, {}, undefined, Math.floor(Date.now() / 1000) - 60)],
    [
      'two items though accept_multiple is false',
      (s) => deepLinkResponse(s, { [CLAIM.deepLinkingContentItems]: [{ type: 'ltiResourceLink' }, { type: 'ltiResourceLink' }] }),
    ],
    ['an item type not accepted', (s) => deepLinkResponse(s, { [CLAIM.deepLinkingContentItems]: [{ type: 'file', url: 'https://x.example/f' }] })],
    [
      'custom values that are not strings',
      (s) => deepLinkResponse(s, { [CLAIM.deepLinkingContentItems]: [{ type: 'ltiResourceLink', custom: { n: 1 } }] }),
    ],
  ];
  it.each(bad)('refuses a response with %s and places nothing', async (_name, make) => {
    const settings = (await deepLinkRequest())[CLAIM.deepLinkingSettings] as Record<string, unknown>;
    const before = h.lms.course('CS101')?.links.length;
    const r = await postReturn(await make(settings));
    expect(r.status).toBe(400);
    expect(r.html).toContain('role="alert"');
    expect(h.lms.course('CS101')?.links.length).toBe(before);
  });

  it('refuses a replayed response', async () => {
    const settings = (await deepLinkRequest())[CLAIM.deepLinkingSettings] as Record<string, unknown>;
    const jwt = await deepLinkResponse(settings, { [CLAIM.deepLinkingContentItems]: [] });
    expect((await postReturn(jwt)).status).toBe(200);
    expect((await postReturn(jwt)).status).toBe(400);
  });
});

describe('token endpoint and memberships', () => {
  async function assertion(over: { aud?: string; jti?: string; sub?: string } = {}): Promise<string> {
    const k = await h.keys.current();
    return new SignJWT({ jti: over.jti ?? randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: k.kid })
      .setIssuer(h.lms.clientId)
      .setSubject(over.sub ?? h.lms.clientId)
      .setAudience(over.aud ?? `${iss()}/token`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(k.privateKey);
  }
  async function token(form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${iss()}/token`, { method: 'POST', body: new URLSearchParams(form) });
    expect(res.headers.get('cache-control')).toBe('no-store');
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const form = async (over: Record<string, string> = {}) => ({
    grant_type: 'client_credentials',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: await assertion(),
    scope: NRPS_SCOPE,
    ...over,
  });

  it('grants a bearer token for a valid assertion, once per jti', async () => {
    const f = await form();
    const ok = await token(f);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: NRPS_SCOPE });
    const replay = await token(f);
    expect(replay).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it.each([
    ['unsupported_grant_type', 400, { grant_type: 'password' }],
    ['invalid_request', 400, { client_assertion_type: 'urn:x' }],
    ['invalid_scope', 400, { scope: 'https://purl.imsglobal.org/spec/lti-ags/scope/score' }],
  ])('answers %s (RFC 6749 §5.2)', async (error, status, over) => {
    expect(await token(await form(over))).toMatchObject({ status, body: { error } });
  });

  it('refuses an assertion for another audience', async () => {
    expect(await token(await form({ client_assertion: await assertion({ aud: `${iss()}/other` }) }))).toMatchObject({
      status: 401,
      body: { error: 'invalid_client' },
    });
  });

  it('serves NRPS 2.0 pages with a Link to the next page, only with a bearer token', async () => {
    const url = `${iss()}/courses/CS101/memberships?limit=20`;
    expect((await fetch(url)).status).toBe(401);
    const access = String((await token(await form())).body.access_token);
    const res = await fetch(url, { headers: { authorization: `Bearer ${access}`, accept: NRPS_MEDIA_TYPE } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')?.split(';')[0]).toBe(NRPS_MEDIA_TYPE);
    expect(res.headers.get('link')).toBe('<memberships?limit=20&offset=20>; rel="next"');
    const body = (await res.json()) as { context: unknown; members: Record<string, unknown>[] };
    expect(body.context).toEqual({ id: 'CS101', label: 'CS101', title: 'Introduction to Linux' });
    expect(body.members).toHaveLength(20);
    expect(Object.keys(body.members[0] ?? {}).sort()).toEqual(['email', 'name', 'roles', 'status', 'user_id']);
  });
});

describe('NRPS role filter and an unreachable tool', () => {
  it('lists only the members with the asked role (full URI or short name), paging with the filter kept', async () => {
    const k = await h.keys.current();
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'RS256', kid: k.kid })
      .setIssuer(h.lms.clientId)
      .setSubject(h.lms.clientId)
      .setAudience(`${iss()}/token`)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(k.privateKey);
    const granted = await fetch(`${iss()}/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
        scope: NRPS_SCOPE,
      }),
    });
    const access = String(((await granted.json()) as Record<string, unknown>).access_token);
    const get = (q: string) => fetch(`${iss()}/courses/CS101/memberships?${q}`, { headers: { authorization: `Bearer ${access}` } });
    const instructors = (await (await get(`role=${encodeURIComponent(ROLE.instructor)}`)).json()) as { members: { user_id: string }[] };
    expect(instructors.members.map((m) => m.user_id)).toEqual(['sim-instructor']);
    const learners = await get('role=Learner&limit=30');
    expect(((await learners.json()) as { members: unknown[] }).members).toHaveLength(30);
    expect(learners.headers.get('link')).toBe('<memberships?limit=30&offset=30&role=Learner>; rel="next"');
  });

  it('answers 502 (not 500) when the tool’s JWKS cannot be fetched', async () => {
    const lonely = await startSimLms({ toolBaseUrl: 'http://127.0.0.1:1' });
    try {
      const res = await fetch(`${lonely.origin}/sim/lms/deep-link-return`, { method: 'POST', body: new URLSearchParams({ JWT: 'a.b.c' }) });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const token = await fetch(`${lonely.origin}/sim/lms/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: 'a.b.c',
          scope: NRPS_SCOPE,
        }),
      });
      expect(token.status).toBe(503);
    } finally {
      await lonely.close();
    }
  });
});
