import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLAIM, MESSAGE_TYPE, ROLE } from '../../src/domain/lti/claims.js';
import type { LabSpec } from '../../src/domain/labs/lab.js';
import { launch, LMS_A, resetHarness, sessionCookie, startHarness, TOOL, type Claims, type Harness } from './support.js';

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

const SSH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')} instructor@uni`;
const RETURN_URL = `${LMS_A}/courses/1/deep_links`;
const MEMBERSHIPS = `${LMS_A}/courses/1/names_and_roles`;

function deepLinkClaims(extra: Claims = {}, settings: Record<string, unknown> = {}): Claims {
  return {
    [CLAIM.messageType]: MESSAGE_TYPE.deepLinkingRequest,
    [CLAIM.resourceLink]: undefined,
    [CLAIM.roles]: [ROLE.instructor],
    [CLAIM.nrps]: { context_memberships_url: MEMBERSHIPS, service_versions: ['2.0'] },
    [CLAIM.deepLinkingSettings]: { deep_link_return_url: RETURN_URL, accept_types: ['ltiResourceLink'], data: 'opaque-1', ...settings },
    ...extra,
  };
}

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

/** Launches a Deep Linking request and opens the picker: the session cookie and the page's CSRF token. */
async function openPicker(extra: Claims = {}): Promise<{ cookie: string; csrf: string; html: string }> {
  const { res } = await launch(h, deepLinkClaims(extra));
  expect(res.statusCode, res.body).toBe(303);
  expect(res.headers.location).toBe('/lti/deep-link');
  const cookie = sessionCookie(res);
  const page = await h.app.inject({ method: 'GET', url: '/lti/deep-link', headers: { cookie } });
  expect(page.statusCode, page.body).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { cookie, csrf, html: page.body };
}

function post(url: string, cookie: string, form: Record<string, string>) {
  return h.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    payload: new URLSearchParams(form).toString(),
  });
}

/** The answer page's form (to the platform) and its JWT, verified with the tool's published keys. */
async function answerOf(res: { statusCode: number; body: string; headers: Record<string, unknown> }) {
  expect(res.statusCode, res.body).toBe(200);
  expect(res.body).toContain(`<form id="lp-deep-link-return" method="post" action="${RETURN_URL}">`);
  expect(res.body).toContain('<script src="/lti/assets/deep-link-return.js"></script>');
  expect(res.body).toMatch(/<button type="submit">/);
  expect(String(res.headers['content-security-policy'])).toContain(`form-action 'self' ${LMS_A}`);
  const jwt = /name="JWT" value="([^"]+)"/.exec(res.body)?.[1] ?? '';
  const jwks = createLocalJWKSet((await h.toolKeys.jwks()) as unknown as JSONWebKeySet);
  const { payload } = await jwtVerify(jwt, jwks, {
    issuer: h.a.clientId,
    audience: h.a.issuer,
    algorithms: ['RS256'],
    currentDate: new Date(h.now.ms),
  });
  expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'RS256', kid: 'tool-1' });
  return payload;
}

describe('Deep Linking 2.0', () => {
  it('lists the tenant’s labs with their bound course and a form for a new lab', async () => {
    await h.labRepo.create(labSpec('ta', 'net-lab', { students: [{ id: '0b2d4c4e-0000-4000-8000-000000000001' }] }));
    await h.labRepo.create(
      labSpec('ta', 'old-lab', {
        lti: { registrationId: h.a.id, deploymentId: 'dep-1', contextId: 'course-9', contextTitle: 'Old course', boundAt: '2026-01-01T00:00:00Z' },
      }),
    );
    await h.labRepo.create(labSpec('tb', 'b-lab'));
    const { html } = await openPicker();
    expect(html).toContain('<code>net-lab</code>');
    expect(html).toContain('Lab net-lab');
    expect(html).toContain('Old course');
    expect(html).toContain('name="rebind"');
    expect(html).not.toContain('b-lab');
    expect(html).toContain('value="platform/ubuntu-24-04"');
    expect(html).toContain('action="/lti/deep-link/create"');
  });

  it('binds the chosen lab to the course and answers the platform with a signed LtiDeepLinkingResponse', async () => {
    await h.labRepo.create(labSpec('ta', 'net-lab'));
    const { cookie, csrf } = await openPicker();
    const res = await post('/lti/deep-link/use', cookie, { csrf, lab: 'net-lab' });
    const payload = await answerOf(res);
    expect(payload).toMatchObject({
      [CLAIM.deploymentId]: 'dep-1',
      [CLAIM.messageType]: 'LtiDeepLinkingResponse',
      [CLAIM.version]: '1.3.0',
      [CLAIM.deepLinkingData]: 'opaque-1',
      [CLAIM.deepLinkingContentItems]: [
        { type: 'ltiResourceLink', title: 'Lab net-lab', url: `${TOOL}/lti/launch`, custom: { labplane_lab: 'net-lab' } },
      ],
    });
    expect(typeof payload['nonce']).toBe('string');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
    expect(payload['azp']).toBeUndefined();
    expect((await h.labRepo.get('ta', 'net-lab'))?.lti).toEqual({
      registrationId: h.a.id,
      deploymentId: 'dep-1',
      contextId: 'course-1',
      contextTitle: 'Networks 101',
      membershipsUrl: MEMBERSHIPS,
      boundAt: new Date(h.now.ms).toISOString(),
    });
    // The answer is single use.
    const again = await h.app.inject({ method: 'GET', url: '/lti/deep-link', headers: { cookie } });
    expect(again.statusCode).toBe(403);
  });

  it('refuses a lab bound to another course unless re-binding is confirmed', async () => {
    await h.labRepo.create(
      labSpec('ta', 'old-lab', {
        lti: { registrationId: h.a.id, deploymentId: 'dep-1', contextId: 'course-9', contextTitle: 'Old course', boundAt: '2026-01-01T00:00:00Z' },
      }),
    );
    const { cookie, csrf } = await openPicker();
    const refused = await post('/lti/deep-link/use', cookie, { csrf, lab: 'old-lab' });
    expect(refused.statusCode).toBe(409);
    expect(refused.body).toContain('role="alert"');
    expect(refused.body).toMatch(/bound to another course/);
    expect((await h.labRepo.get('ta', 'old-lab'))?.lti?.contextId).toBe('course-9');
    await answerOf(await post('/lti/deep-link/use', cookie, { csrf, lab: 'old-lab', rebind: 'true' }));
    expect((await h.labRepo.get('ta', 'old-lab'))?.lti?.contextId).toBe('course-1');
  });

  it('creates a lab from the form (size preset), binds it and answers', async () => {
    const { cookie, csrf } = await openPicker();
    const res = await post('/lti/deep-link/create', cookie, {
      csrf,
      name: 'fresh-lab',
      displayName: 'Fresh lab',
      image: 'platform/ubuntu-24-04',
      size: 'medium',
      sshPublicKey: SSH_KEY,
    });
    const payload = await answerOf(res);
    expect(payload[CLAIM.deepLinkingContentItems]).toEqual([
      { type: 'ltiResourceLink', title: 'Fresh lab', url: `${TOOL}/lti/launch`, custom: { labplane_lab: 'fresh-lab' } },
    ]);
    const lab = await h.labRepo.get('ta', 'fresh-lab');
    expect(lab?.template).toMatchObject({
      cpu: 2,
      memoryGi: 4,
      diskGi: 40,
      arc: false,
      sshPublicKeys: [SSH_KEY],
      image: { scope: 'platform', name: 'ubuntu-24-04' },
    });
    expect(lab?.lti?.contextId).toBe('course-1');
  });

  it('shows why a new lab is not acceptable on the picker (bad name, unknown image, name taken)', async () => {
    await h.labRepo.create(labSpec('ta', 'taken'));
    const { cookie, csrf } = await openPicker();
    const bad = await post('/lti/deep-link/create', cookie, { csrf, name: 'Bad_Name', image: 'platform/ubuntu-24-04', size: 'small' });
    expect(bad.statusCode).toBeGreaterThanOrEqual(400);
    expect(bad.statusCode).toBeLessThan(500);
    expect(bad.body).toContain('role="alert"');
    const image = await post('/lti/deep-link/create', cookie, { csrf, name: 'ok-lab', image: 'platform/nope', size: 'small' });
    expect(image.statusCode).toBe(400);
    expect(image.body).toMatch(/listed images/);
    const noKey = await post('/lti/deep-link/create', cookie, { csrf, name: 'no-key', image: 'platform/ubuntu-24-04', size: 'small' });
    expect(noKey.statusCode).toBe(400);
    expect(noKey.body).toMatch(/public key/);
    const taken = await post('/lti/deep-link/create', cookie, { csrf, name: 'taken', image: 'platform/ubuntu-24-04', size: 'small', arc: 'true' });
    expect(taken.statusCode, taken.body).toBe(409);
  });

  it('refuses a missing or wrong CSRF token, no session, a learner session, and a lab of another tenant', async () => {
    await h.labRepo.create(labSpec('ta', 'net-lab'));
    await h.labRepo.create(labSpec('tb', 'b-lab'));
    const { cookie, csrf } = await openPicker();
    expect((await post('/lti/deep-link/use', cookie, { lab: 'net-lab' })).statusCode).toBe(403);
    expect((await post('/lti/deep-link/use', cookie, { csrf: `${csrf}x`, lab: 'net-lab' })).statusCode).toBe(403);
    expect((await post('/lti/deep-link/use', '', { csrf, lab: 'net-lab' })).statusCode).toBe(401);
    expect((await h.app.inject({ method: 'GET', url: '/lti/deep-link' })).statusCode).toBe(401);
    const other = await post('/lti/deep-link/use', cookie, { csrf, lab: 'b-lab' });
    expect(other.statusCode).toBe(404);
    expect((await h.labRepo.get('tb', 'b-lab'))?.lti).toBeUndefined();
    const learner = await launch(h);
    const page = await h.app.inject({ method: 'GET', url: '/lti/deep-link', headers: { cookie: sessionCookie(learner.res) } });
    expect(page.statusCode).toBe(403);
  });

  it('answers with errormsg when the platform does not accept resource links', async () => {
    const { res } = await launch(
      h,
      deepLinkClaims({ [CLAIM.deepLinkingSettings]: { deep_link_return_url: RETURN_URL, accept_types: ['link', 'file'] } }),
    );
    const payload = await answerOf(res);
    expect(payload[CLAIM.deepLinkingContentItems]).toEqual([]);
    expect(payload[CLAIM.deepLinkingErrorMsg]).toMatch(/resource links only/);
    expect(payload[CLAIM.deepLinkingData]).toBeUndefined();
  });

  it('refuses a Deep Linking request without a return URL', async () => {
    const { res } = await launch(h, deepLinkClaims({ [CLAIM.deepLinkingSettings]: { accept_types: ['ltiResourceLink'] } }));
    expect(res.statusCode).toBe(400);
    expect(res.body).toMatch(/return URL/);
  });

  it('serves the stylesheet and the answer script from this origin', async () => {
    const css = await h.app.inject({ method: 'GET', url: '/lti/assets/lti.css' });
    expect(css.statusCode).toBe(200);
    expect(String(css.headers['content-type'])).toMatch(/^text\/css/);
    const js = await h.app.inject({ method: 'GET', url: '/lti/assets/deep-link-return.js' });
    expect(js.statusCode).toBe(200);
    expect(String(js.headers['content-type'])).toMatch(/^text\/javascript/);
    expect(js.body).toContain("getElementById('lp-deep-link-return')");
  });
});
