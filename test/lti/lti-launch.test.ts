import { createHmac, randomUUID } from 'node:crypto';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM, MESSAGE_TYPE, ROLE } from '../../src/domain/lti/claims.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import {
  launch,
  launchClaims,
  LMS_A,
  login,
  postLaunch,
  resetHarness,
  sessionOf,
  sign,
  startHarness,
  TOOL,
  type Claims,
  type Harness,
} from './support.js';

// One app for the file (building it takes seconds); what a test changes is put back after it.
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});
afterEach(async () => {
  await resetHarness(h);
});

const labSpec = (tenant: string, name: string, extra: Partial<LabSpec> = {}): LabSpec => ({
  tenant,
  name,
  displayName: `Lab ${name}`,
  template: {
    image: { scope: 'platform', name: 'ubuntu-24-04' },
    cpu: 1,
    memoryGi: 2,
    diskGi: 20,
    storageClass: 'kv-standard',
    arc: false,
    studentRole: 'user',
    sshPublicKeys: [],
  },
  instructors: [],
  students: [],
  schedules: [],
  dropGracePeriodHours: 72,
  endGracePeriodDays: 14,
  ...extra,
});

/** A refusal is an accessible HTML page with the status, framable by the LMS, without the token or a stack. */
function expectRefusal(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, text: RegExp): void {
  expect(res.statusCode, res.body).toBe(status);
  expect(String(res.headers['content-type'])).toMatch(/^text\/html/);
  expect(res.headers['x-frame-options']).toBeUndefined();
  expect(String(res.headers['content-security-policy'])).toContain('frame-ancestors https://*.example.com');
  expect(res.body).toContain('role="alert"');
  expect(res.body).toMatch(text);
  expect(res.body).not.toMatch(/at .*\.ts:\d+|Error:/);
}

describe('login initiation', () => {
  it('redirects to the platform with the OIDC parameters and binds the state to the browser', async () => {
    const res = await h.app.inject({
      method: 'GET',
      url: `/lti/login?${new URLSearchParams({ iss: LMS_A, login_hint: 'u-7', target_link_uri: `${TOOL}/lti/launch`, lti_message_hint: 'm-9', client_id: 'client-a' })}`,
    });
    expect(res.statusCode).toBe(302);
    const loc = new URL(String(res.headers.location));
    expect(`${loc.origin}${loc.pathname}`).toBe(`${LMS_A}/auth`);
    const q = Object.fromEntries(loc.searchParams);
    expect(q).toMatchObject({
      scope: 'openid',
      response_type: 'id_token',
      response_mode: 'form_post',
      prompt: 'none',
      client_id: 'client-a',
      redirect_uri: `${TOOL}/lti/launch`,
      login_hint: 'u-7',
      lti_message_hint: 'm-9',
    });
    // At least 128 bits, base64url.
    expect(q['state']).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(q['nonce']).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(q['state']).not.toBe(q['nonce']);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^lp_lti_state_${q['state']?.slice(0, 8)}=${q['state']};`));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=None', 'Path=/lti', 'Max-Age=600']) expect(cookie).toContain(attr);
  });

  it('takes the parameters as a form post too, and finds the issuer’s only registration without client_id', async () => {
    const res = await h.app.inject({
      method: 'POST',
      url: '/lti/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ iss: LMS_A, login_hint: 'u-7', target_link_uri: `${TOOL}/lti/launch` }).toString(),
    });
    expect(res.statusCode).toBe(302);
    expect(new URL(String(res.headers.location)).searchParams.get('client_id')).toBe('client-a');
  });

  it('asks for client_id when the issuer has several registrations', async () => {
    h.registrations.push({ ...h.a, id: randomUUID(), clientId: 'client-a2' });
    const res = await h.app.inject({
      method: 'GET',
      url: `/lti/login?${new URLSearchParams({ iss: LMS_A, login_hint: 'u', target_link_uri: `${TOOL}/lti/launch` })}`,
    });
    expectRefusal(res, 400, /client_id/);
  });

  it('refuses an unknown platform, a target_link_uri elsewhere and missing parameters', async () => {
    const q = (extra: Record<string, string>) =>
      `/lti/login?${new URLSearchParams({ iss: LMS_A, login_hint: 'u', target_link_uri: `${TOOL}/lti/launch`, ...extra })}`;
    expectRefusal(await h.app.inject({ method: 'GET', url: q({ iss: 'https://evil.example' }) }), 403, /not registered/);
    expectRefusal(await h.app.inject({ method: 'GET', url: q({ target_link_uri: 'https://evil.example/lti/launch' }) }), 400, /target_link_uri/);
    expectRefusal(await h.app.inject({ method: 'GET', url: `/lti/login?iss=${encodeURIComponent(LMS_A)}` }), 400, /login_hint/);
    expectRefusal(await h.app.inject({ method: 'GET', url: q({ lti_deployment_id: 'dep-unknown' }) }), 403, /deployment/);
  });
});

describe('launch', () => {
  it('opens a learner session on the lab bound to the course and redirects to the learner page', async () => {
    await h.labRepo.create(
      labSpec('ta', 'net-lab', { lti: { registrationId: h.a.id, deploymentId: 'dep-1', contextId: 'course-1', boundAt: '2026-12-01T00:00:00Z' } }),
    );
    h.directory.set('sam@uni.example', { id: '0b2d4c4e-0000-4000-8000-000000000001', email: 'sam@uni.example' });
    const { res, token } = await launch(h);
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers.location).toBe('/lti/learner');
    const cookies = ([] as string[]).concat(res.headers['set-cookie'] as string[]);
    const session = cookies.find((c) => c.startsWith('lp_lti_session='));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=None', 'Path=/lti']) expect(session).toContain(attr);
    // The state cookie is cleared.
    expect(cookies.some((c) => c.startsWith('lp_lti_state_') && c.includes('Max-Age=0'))).toBe(true);
    const s = await sessionOf(h, res);
    expect(s).toMatchObject({
      tenant: 'ta',
      registrationId: h.a.id,
      deploymentId: 'dep-1',
      contextId: 'course-1',
      contextTitle: 'Networks 101',
      lmsUserId: 'lms-user-1',
      role: 'learner',
      userId: '0b2d4c4e-0000-4000-8000-000000000001',
      lab: 'net-lab',
    });
    expect(s?.expiresAt).toBe(h.now.ms + 3_600_000);
    expect(s?.csrf).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(h.logs.join('\n')).not.toContain(token);
    const events = await h.auditEvents();
    expect(events.find((e) => e.action === 'ltiLaunch')).toMatchObject({
      tenant: 'ta',
      result: { status: 303 },
      target: { type: 'lab', id: 'net-lab' },
    });
  });

  it('says why the user was not matched (no email, not in the directory)', async () => {
    const noEmail = await launch(h, { email: undefined });
    expect((await sessionOf(h, noEmail.res))?.userUnresolved).toBe('no-email');
    const unknown = await launch(h);
    const s = await sessionOf(h, unknown.res);
    expect(s?.userId).toBeUndefined();
    expect(s?.userUnresolved).toBe('not-in-directory');
  });

  it.each([[ROLE.instructor], [ROLE.teachingAssistant], ['Instructor'], ['TeachingAssistant'], [ROLE.contentDeveloper], ['Administrator']])(
    'makes %s an instructor',
    async (role) => {
      const { res } = await launch(h, { [CLAIM.roles]: [ROLE.learner, role] });
      expect(res.statusCode).toBe(303);
      expect(res.headers.location).toBe('/lti/instructor');
      expect((await sessionOf(h, res))?.role).toBe('instructor');
    },
  );

  it("starts the roster sync on an instructor's launch of a bound lab with NRPS, and a failing start does not break the launch", async () => {
    await h.labRepo.create(
      labSpec('ta', 'net-lab', { lti: { registrationId: h.a.id, deploymentId: 'dep-1', contextId: 'course-1', boundAt: '2026-12-01T00:00:00Z' } }),
    );
    const nrps = { [CLAIM.nrps]: { context_memberships_url: `${LMS_A}/courses/1/names_and_roles`, service_versions: ['2.0'] } };
    await launch(h, { [CLAIM.roles]: [ROLE.learner], ...nrps });
    expect(h.rosterStarts).toEqual([]);
    await launch(h, { [CLAIM.roles]: [ROLE.instructor] });
    expect(h.rosterStarts).toEqual([]);
    await launch(h, { [CLAIM.roles]: [ROLE.instructor], ...nrps });
    expect(h.rosterStarts).toEqual([{ tenant: 'ta', lab: 'net-lab', trigger: 'launch' }]);
    h.rosterFails = true;
    const { res } = await launch(h, { [CLAIM.roles]: [ROLE.instructor], ...nrps });
    expect(res.statusCode).toBe(303);
  });

  it('lands on the lab a deep-linked resource link names (custom labplane_lab)', async () => {
    await h.labRepo.create(labSpec('ta', 'os-lab'));
    const { res } = await launch(h, { [CLAIM.custom]: { labplane_lab: 'os-lab' } });
    expect((await sessionOf(h, res))?.lab).toBe('os-lab');
  });

  it("cannot reach a lab of another tenant: a link naming tenant B's lab is not found", async () => {
    await h.labRepo.create(labSpec('tb', 'secret-lab'));
    const { res } = await launch(h, { [CLAIM.custom]: { labplane_lab: 'secret-lab' } });
    expectRefusal(res, 404, /does not exist/);
    expect(res.body).not.toContain('tb');
    // Nor by context: tenant B's lab bound to the same course id is not A's.
    await h.labRepo.create(
      labSpec('tb', 'b-bound', { lti: { registrationId: h.a.id, deploymentId: 'dep-1', contextId: 'course-1', boundAt: '2026-12-01T00:00:00Z' } }),
    );
    const ok = await launch(h);
    expect((await sessionOf(h, ok.res))?.lab).toBeUndefined();
  });

  it('shows an error the platform posts back', async () => {
    const started = await login(h);
    const res = await postLaunch(h, { error: 'login_required', error_description: 'Sign in to the LMS first', state: started.state }, started.cookie);
    expectRefusal(res, 400, /login_required/);
  });
});

describe('hostile launches', () => {
  async function refused(overrides: Claims, status: number, text: RegExp, header: Record<string, unknown> = {}) {
    const started = await login(h);
    const token = await sign(h.platformA, launchClaims(h, started, overrides), header);
    const res = await postLaunch(h, { id_token: token, state: started.state }, started.cookie);
    expectRefusal(res, status, text);
    expect(h.logs.join('\n')).not.toContain(token);
    return res;
  }

  it('refuses a replayed launch (state already used)', async () => {
    const started = await login(h);
    const token = await sign(h.platformA, launchClaims(h, started));
    expect((await postLaunch(h, { id_token: token, state: started.state }, started.cookie)).statusCode).toBe(303);
    expectRefusal(await postLaunch(h, { id_token: token, state: started.state }, started.cookie), 401, /already used/);
    const events = await h.auditEvents();
    expect(events.filter((e) => e.action === 'ltiLaunch').map((e) => e.result)).toEqual(
      expect.arrayContaining([{ status: 303 }, { status: 401, code: 'state' }]),
    );
  });

  it('refuses a replayed id_token by its nonce even when a state store fails to forget', async () => {
    const leaky = await startHarness({ statesNeverForget: true });
    try {
      const started = await login(leaky);
      const token = await sign(leaky.platformA, launchClaims(leaky, started));
      expect((await postLaunch(leaky, { id_token: token, state: started.state }, started.cookie)).statusCode).toBe(303);
      const replay = await postLaunch(leaky, { id_token: token, state: started.state }, started.cookie);
      expect(replay.statusCode).toBe(401);
      expect(replay.body).toMatch(/already used/);
      expect((await leaky.auditEvents())[0]?.result).toEqual({ status: 401, code: 'replay' });
    } finally {
      await leaky.close();
    }
  });

  it('refuses a reused state with a fresh token', async () => {
    const started = await login(h);
    expect(
      (await postLaunch(h, { id_token: await sign(h.platformA, launchClaims(h, started)), state: started.state }, started.cookie)).statusCode,
    ).toBe(303);
    const again = await sign(h.platformA, launchClaims(h, started, { sub: 'other' }));
    expectRefusal(await postLaunch(h, { id_token: again, state: started.state }, started.cookie), 401, /unknown or was already used/);
  });

  it('refuses a launch without its state cookie or with another one', async () => {
    const started = await login(h);
    const token = await sign(h.platformA, launchClaims(h, started));
    expectRefusal(await postLaunch(h, { id_token: token, state: started.state }), 401, /state cookie/);
    const other = await login(h);
    const forged = `${started.cookie.split('=')[0]}=${other.state}`;
    expectRefusal(await postLaunch(h, { id_token: token, state: started.state }, forged), 401, /state cookie/);
    expectRefusal(await postLaunch(h, { state: started.state }, started.cookie), 400, /id_token and state/);
    expectRefusal(await postLaunch(h, { id_token: token, state: 'ab\r\nSet-Cookie: x=1' }, started.cookie), 400, /malformed/);
  });

  it('refuses an expired token and one issued in the future', async () => {
    const now = Math.floor(h.now.ms / 1000);
    await refused({ iat: now - 900, exp: now - 120 }, 401, /expired/);
    await refused({ iat: now + 600, exp: now + 900 }, 401, /future/);
  });

  it('accepts 60 s of clock skew', async () => {
    const now = Math.floor(h.now.ms / 1000);
    const { res } = await launch(h, { iat: now + 50, exp: now - 50 });
    expect(res.statusCode).toBe(303);
  });

  it('refuses a wrong audience, several audiences without azp, another azp, a wrong issuer', async () => {
    await refused({ aud: 'client-x' }, 401, /another tool/);
    await refused({ aud: ['client-a', 'client-x'] }, 401, /authorized party/);
    await refused({ aud: ['client-a', 'client-x'], azp: 'client-x' }, 401, /authorized party|another client/);
    await refused({ iss: 'https://evil.example' }, 401, /another platform/);
    const ok = await launch(h, { aud: ['client-a', 'client-x'], azp: 'client-a' });
    expect(ok.res.statusCode).toBe(303);
  });

  it('refuses an unknown deployment, a missing sub, a bad version, a wrong message type, roles that are not a list, a wrong nonce', async () => {
    await refused({ [CLAIM.deploymentId]: 'dep-9' }, 403, /deployment/);
    await refused({ sub: undefined }, 400, /Anonymous/);
    await refused({ [CLAIM.version]: '1.1' }, 400, /1\.3\.0/);
    await refused({ [CLAIM.messageType]: 'LtiSubmissionReviewRequest' }, 400, /resource link launches and deep linking/);
    await refused({ [CLAIM.roles]: 'Learner' }, 400, /roles/);
    await refused({ [CLAIM.resourceLink]: undefined }, 400, /resource link/);
    await refused({ nonce: 'not-the-nonce' }, 401, /nonce/);
  });

  it('refuses an unknown kid after one refetch of the JWKS, and accepts a rotated key', async () => {
    expect((await launch(h)).res.statusCode).toBe(303);
    const url = `${LMS_A}/jwks`;
    const before = h.jwksFetches.get(url) ?? 0;
    expect(before).toBeGreaterThan(0);
    // Cached: a launch with a known key fetches nothing.
    expect((await launch(h)).res.statusCode).toBe(303);
    expect(h.jwksFetches.get(url)).toBe(before);
    // A key the platform never published.
    const { privateKey } = await generateKeyPair('RS256');
    h.platformA.keys.set('k-rogue', privateKey);
    h.platformA.kid = 'k-rogue';
    await refused({}, 401, /not among the platform/);
    expect(h.jwksFetches.get(url)).toBe(before + 1);
    // Rotation: a new published key is found by the refetch.
    await h.platformA.addKey('k2');
    h.platformA.kid = 'k2';
    expect((await launch(h)).res.statusCode).toBe(303);
    expect(h.jwksFetches.get(url)).toBe(before + 2);
  });

  it('refuses alg none and HS256 signed with the platform public key (algorithm confusion), and a token without kid', async () => {
    const started = await login(h);
    const claims = launchClaims(h, started);
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none', kid: 'k1', typ: 'JWT' })}.${b64(claims)}.`;
    expectRefusal(await postLaunch(h, { id_token: none, state: started.state }, started.cookie), 401, /RS256/);

    const again = await login(h);
    const spki = await exportSPKI((await generateKeyPair('RS256', { extractable: true })).publicKey);
    const head = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(launchClaims(h, again))}`;
    const hs = `${head}.${createHmac('sha256', spki).update(head).digest('base64url')}`;
    expectRefusal(await postLaunch(h, { id_token: hs, state: again.state }, again.cookie), 401, /RS256/);

    const third = await login(h);
    const key = h.platformA.keys.get('k1');
    if (key === undefined) throw new Error('no key');
    const noKid = await new SignJWT(launchClaims(h, third)).setProtectedHeader({ alg: 'RS256' }).sign(key);
    expectRefusal(await postLaunch(h, { id_token: noKid, state: third.state }, third.cookie), 401, /kid/);
  });

  it('refuses a token signed by another platform’s key', async () => {
    const started = await login(h);
    const token = await sign(h.platformB, launchClaims(h, started));
    expectRefusal(await postLaunch(h, { id_token: token, state: started.state }, started.cookie), 401, /signature/);
  });

  it('refuses a token of registration B on a state made for registration A', async () => {
    const started = await login(h);
    const token = await sign(h.platformB, launchClaims(h, started, { iss: h.b.issuer, aud: h.b.clientId }));
    expectRefusal(await postLaunch(h, { id_token: token, state: started.state }, started.cookie), 401, /another platform|signature/);
  });

  it('refuses garbage as a token', async () => {
    const started = await login(h);
    expectRefusal(await postLaunch(h, { id_token: 'not-a-jwt', state: started.state }, started.cookie), 400, /not a signed JWT/);
  });

  it('records refusals in the audit log with the reason', async () => {
    await refused({ aud: 'client-x' }, 401, /another tool/);
    const events = (await h.auditEvents()).filter((e) => e.action === 'ltiLaunch');
    expect(events[0]).toMatchObject({ tenant: 'ta', result: { status: 401, code: 'aud' }, actor: { id: `lti:${h.a.id}` } });
  });
});

describe('deep linking request', () => {
  it('refuses a learner', async () => {
    const { res } = await launch(h, {
      [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingRequest,
      [CLAIM.resourceLink]: undefined,
      [CLAIM.deepLinkingSettings]: { deep_link_return_url: `${LMS_A}/dl/return`, accept_types: ['ltiResourceLink'] },
    });
    expectRefusal(res, 403, /Only instructors/);
  });
});
