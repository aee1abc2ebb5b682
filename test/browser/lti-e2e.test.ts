import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SIM_PEOPLE } from '../../src/adapters/sim/directory.js';
import { SIM_LMS_CLIENT_ID, SIM_LMS_DEPLOYMENT_ID, type SimLms } from '../../src/adapters/sim/lms/index.js';
import { CLAIM, LTI_VERSION, MESSAGE_TYPE, ROLE } from '../../src/domain/lti/claims.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { allCspViolations, browserSuiteTitle, launchChromium, skipBrowserTests, watchedPage, type PageWatch } from './support/browser.js';

const LAB = 'e2e-lab';
const TITLE = 'End to end lab';
const COURSE = 'CS101';
const nameOf = (key: string): string => SIM_PEOPLE.find((p) => p.key === key)?.name ?? key;
const INSTRUCTOR = nameOf('instructor');
const LEARNER = nameOf('learner-01');
const LEAVER_KEY = 'learner-30';
const SSH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')} e2e@uni`;
const OTHER_TEMPLATE = {
  image: { scope: 'platform', name: 'ubuntu-24-04' },
  instanceType: 'small',
  diskGi: 10,
  storageClass: 'kv-standard',
  sshPublicKeys: [SSH_KEY],
};

interface StudentRow {
  readonly id: string;
  readonly email?: string;
  readonly lmsUserId?: string;
  readonly status: string;
}

/**
 * The embedded default end to end, as an instructor and students would go through it, in Chromium:
 * 1. the simulated LMS's "Add labplane" (Deep Linking) goes through the tool's login initiation and
 *    launch; the instructor creates a lab (Azure Arc sign-in on) on the picker; the signed answer goes
 *    back to the LMS, which verifies it with the tool's JWKS and places the link; the lab is bound;
 * 2. the instructor's launch of the placed link starts the NRPS roster sync: the course's 30
 *    learners with a directory account become students with a VM, the instructor and the teaching
 *    assistant instructors, and the 3 members the directory cannot match are listed with the reason;
 * 3. a student's launch shows their own VM and the `az ssh arc` command;
 * 4. a member removed from the course is dropped by the next sync ("Sync roster now");
 * 5. hostile launches (replayed, expired, wrongly audienced, unknown deployment, unknown key,
 *    alg-confused, unsigned, foreign lab) are refused, over HTTP against the same app.
 */
describe.skipIf(skipBrowserTests)(browserSuiteTitle('LTI 1.3 end to end against the simulated LMS'), () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  let lms: SimLms;
  let admin: string;

  beforeAll(async () => {
    t = await startTestApp();
    origin = t.url;
    browser = await launchChromium();
    lms = t.deps.world.lms.simLms as SimLms;
    admin = await t.bearer({ sub: 'e2e-admin', roles: ['platform-admin'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function labOf(): Promise<Record<string, any>> {
    const res = await request(t.app.server).get(`/v1/tenants/demo/labs/${LAB}`).set('authorization', admin);
    expect(res.status, res.text).toBe(200);
    return res.body as Record<string, any>;
  }
  async function studentsOf(): Promise<StudentRow[]> {
    const res = await request(t.app.server).get(`/v1/tenants/demo/labs/${LAB}/students?limit=100`).set('authorization', admin);
    expect(res.status, res.text).toBe(200);
    return res.body.items as StudentRow[];
  }
  async function launchFromCourse(page: Page, who: string): Promise<void> {
    await page.goto(`${origin}/sim/lms/courses/${COURSE}`);
    await page.getByRole('button', { name: `Launch ${TITLE} as ${who}` }).click();
  }
  function expectClean(watch: PageWatch): Promise<void> {
    expect(watch.pageErrors).toEqual([]);
    expect(watch.foreign).toEqual([]);
    return allCspViolations(watch).then((v) => expect(v).toEqual([]));
  }

  it('deep-links a new lab, syncs the 30 students through NRPS and the directory, shows a student their VM, and drops a member who left', async () => {
    const watch = await watchedPage(browser, origin);
    const { page } = watch;

    // 1. Deep Linking: the instructor adds labplane to the course and creates the lab there.
    await page.goto(`${origin}/sim/lms/courses/${COURSE}`);
    await page.getByRole('button', { name: `Add labplane to this course as ${INSTRUCTOR}` }).click();
    await page.waitForURL(`${origin}/lti/deep-link`);
    await page.getByLabel(/^Name/).fill(LAB);
    await page.getByLabel('Display name').fill(TITLE);
    await page.getByRole('checkbox', { name: /Azure Arc/ }).check();
    await page.getByRole('button', { name: 'Create the lab and use it' }).click();
    await page.waitForURL(`${origin}/sim/lms/**`);
    expect(await page.locator('main').textContent()).toContain(TITLE);
    expect(await page.getByRole('alert').count()).toBe(0);
    const bound = await labOf();
    expect(bound).toMatchObject({ displayName: TITLE, lti: { contextId: COURSE, membershipsUrl: expect.stringContaining('/sim/lms/') } });
    expect(bound.summary.total).toBe(0);

    // 2. The instructor's launch of the placed link starts the roster sync from the course (NRPS).
    await launchFromCourse(page, INSTRUCTOR);
    await page.waitForURL(`${origin}/lti/instructor`);
    await vi.waitFor(
      async () => {
        const lab = await labOf();
        expect(lab.ltiSync).toMatchObject({ outcome: 'succeeded', trigger: 'launch', students: 30, instructors: 2 });
        expect(lab.summary).toMatchObject({ total: 30, ready: 30 });
      },
      { timeout: 150_000, interval: 500 },
    );
    const synced = await labOf();
    expect(synced.instructors.map((i: { email?: string }) => i.email).sort()).toEqual(
      ['instructor', 'ta'].map((k) => SIM_PEOPLE.find((p) => p.key === k)?.email).sort(),
    );
    expect(synced.ltiSync.unresolved.map((u: { lmsUserId: string; reason: string }) => `${u.lmsUserId}:${u.reason}`).sort()).toEqual([
      'sim-private-1:no-email',
      'sim-visitor-1:not-in-directory',
      'sim-visitor-2:not-in-directory',
    ]);
    const students = await studentsOf();
    expect(students).toHaveLength(30);
    // Every student is a directory user (object id) carrying the LMS's id; each has one VM.
    const directory = new Map(SIM_PEOPLE.map((p) => [p.email, p]));
    for (const s of students) {
      expect(s.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(s.lmsUserId).toBe(`sim-${directory.get(s.email ?? '')?.key}`);
    }
    const vms = await request(t.app.server).get('/v1/tenants/demo/vms?limit=100').set('authorization', admin);
    expect(vms.body.items.filter((v: { lab?: string; labels?: Record<string, string> }) => JSON.stringify(v).includes(LAB))).toHaveLength(30);
    await page.reload();
    expect(await page.locator('main').textContent()).toContain('30 in total: 30 ready');
    expect(await page.locator('main').textContent()).toContain('Vera Visitor');

    // 3. A student's launch shows their own VM and the command to sign in over SSH with Azure AD.
    await launchFromCourse(page, LEARNER);
    await page.waitForURL(`${origin}/lti/learner`);
    const learnerEmail = SIM_PEOPLE.find((p) => p.key === 'learner-01')?.email;
    const mine = students.find((s) => s.email === learnerEmail);
    expect(mine).toBeDefined();
    await vi.waitFor(
      async () => {
        await page.reload();
        expect(await page.locator('pre code').textContent()).toMatch(/^az ssh arc /);
      },
      { timeout: 60_000, interval: 1_000 },
    );
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('Your VM');
    // Their VM, and nobody else's.
    const others = students.filter((s) => s.id !== mine?.id).map((s) => s.email ?? '');
    for (const email of others) expect(main).not.toContain(email);

    // 4. A member who left the course is dropped by the next sync, started from the instructor page.
    expect(lms.removeMember(COURSE, `sim-${LEAVER_KEY}`)).toBe(true);
    await launchFromCourse(page, INSTRUCTOR);
    await page.waitForURL(`${origin}/lti/instructor`);
    const leaverEmail = SIM_PEOPLE.find((p) => p.key === LEAVER_KEY)?.email;
    const leaverId = students.find((s) => s.email === leaverEmail)?.id;
    expect(leaverId).toBeDefined();
    await vi.waitFor(async () => expect((await labOf()).ltiSync.at).toBeDefined(), { timeout: 30_000 });
    // The launch itself may have synced already; the button must work on its own too.
    await vi.waitFor(async () => expect((await labOf()).ltiSync.outcome).toBe('succeeded'), { timeout: 60_000, interval: 500 });
    const before = (await labOf()).ltiSync.at as string;
    await page.getByRole('button', { name: 'Sync roster now' }).click();
    await vi.waitFor(
      async () => {
        const lab = await labOf();
        expect(lab.ltiSync.at > before).toBe(true);
        expect(lab.ltiSync).toMatchObject({ outcome: 'succeeded', trigger: 'manual', students: 29 });
        // Off the roster: listed as dropped while their VM waits out the grace period.
        expect((await studentsOf()).find((s) => s.id === leaverId)?.status).toBe('dropped');
      },
      { timeout: 60_000, interval: 500 },
    );
    await expectClean(watch);
    await page.context().close();
  }, 300_000);

  describe('hostile launches are refused', () => {
    const launchUrl = (): string => `${origin}/lti/launch`;
    const issuer = (): string => lms.issuer(origin);

    /** A login initiation as the LMS would start it: the state and nonce the tool chose, and its state cookie. */
    async function login(): Promise<{ state: string; nonce: string; cookie: string }> {
      // Opening a course page registers the simulated LMS for this origin (done by the test above too).
      await request(t.app.server).get(`/sim/lms/courses/${COURSE}`).set('host', new URL(origin).host);
      const res = await request(t.app.server).get('/lti/login').set('host', new URL(origin).host).query({
        iss: issuer(),
        login_hint: 'sim-learner-01',
        target_link_uri: launchUrl(),
        client_id: SIM_LMS_CLIENT_ID,
        lti_deployment_id: SIM_LMS_DEPLOYMENT_ID,
      });
      expect(res.status, res.text).toBe(302);
      const location = new URL(res.headers.location as string);
      const cookie = ([] as string[])
        .concat(res.headers['set-cookie'] ?? [])
        .map((c) => c.split(';')[0])
        .join('; ');
      return { state: location.searchParams.get('state') ?? '', nonce: location.searchParams.get('nonce') ?? '', cookie };
    }
    function claims(nonce: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
      const now = Math.floor(Date.now() / 1000);
      return {
        iss: issuer(),
        aud: SIM_LMS_CLIENT_ID,
        sub: 'sim-learner-01',
        nonce,
        iat: now,
        exp: now + 300,
        email: SIM_PEOPLE.find((p) => p.key === 'learner-01')?.email,
        [CLAIM.deploymentId]: SIM_LMS_DEPLOYMENT_ID,
        [CLAIM.messageType]: MESSAGE_TYPE.resourceLink,
        [CLAIM.version]: LTI_VERSION,
        [CLAIM.roles]: [ROLE.learner],
        [CLAIM.resourceLink]: { id: 'rl-e2e' },
        [CLAIM.targetLinkUri]: launchUrl(),
        [CLAIM.context]: { id: COURSE, title: 'Introduction to Linux' },
        [CLAIM.custom]: { labplane_lab: LAB },
        ...overrides,
      };
    }
    async function post(idToken: string, state: string, cookie: string) {
      return request(t.app.server)
        .post('/lti/launch')
        .set('host', new URL(origin).host)
        .set('cookie', cookie)
        .type('form')
        .send({ id_token: idToken, state });
    }
    async function refused(make: (nonce: string) => Promise<string>, status: RegExp = /^4\d\d$/): Promise<string> {
      const { state, nonce, cookie } = await login();
      const res = await post(await make(nonce), state, cookie);
      expect(String(res.status), res.text).toMatch(status);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^lp_lti_session=[^;]/)]));
      return res.text;
    }
    function b64(v: unknown): string {
      return Buffer.from(JSON.stringify(v)).toString('base64url');
    }

    it('a genuine launch passes (the harness is right), and the same token or state again is refused', async () => {
      const { state, nonce, cookie } = await login();
      const token = await lms.signIdToken(claims(nonce));
      const ok = await post(token, state, cookie);
      expect(ok.status, ok.text).toBe(303);
      expect(ok.headers.location).toMatch(/\/lti\/learner$/);
      const replay = await post(token, state, cookie);
      expect(replay.status).toBeGreaterThanOrEqual(400);
      expect(replay.status).toBeLessThan(500);
      // The same token with a fresh state: the nonce was used once already.
      const fresh = await login();
      const replayedNonce = await post(token, fresh.state, fresh.cookie);
      expect(replayedNonce.status).toBeGreaterThanOrEqual(400);
      expect(replayedNonce.status).toBeLessThan(500);
    });

    it('expired, future-dated, wrongly audienced, unknown-deployment and foreign-lab tokens are refused', async () => {
      const now = Math.floor(Date.now() / 1000);
      await refused((nonce) => lms.signIdToken(claims(nonce, { iat: now - 900, exp: now - 600 })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { iat: now + 900, exp: now + 1200 })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { aud: 'another-tool' })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { aud: [SIM_LMS_CLIENT_ID, 'another-tool'] })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { [CLAIM.deploymentId]: 'unknown-deployment' })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { [CLAIM.version]: '1.1' })));
      await refused((nonce) => lms.signIdToken(claims(nonce, { nonce: 'not-the-one-we-gave' })));
    });

    it('a launch never reaches a lab of another tenant, even by naming it', async () => {
      const tenant = await request(t.app.server)
        .post('/v1/tenants')
        .set('authorization', admin)
        .send({ id: 'other', displayName: 'Other', profile: 'faculty' });
      expect(tenant.status, tenant.text).toBe(201);
      const lab = await request(t.app.server)
        .post('/v1/tenants/other/labs')
        .set('authorization', admin)
        .send({ name: 'other-lab', displayName: 'Secret lab of another tenant', template: OTHER_TEMPLATE });
      expect(lab.status, lab.text).toBe(202);
      const { state, nonce, cookie } = await login();
      const res = await post(await lms.signIdToken(claims(nonce, { [CLAIM.custom]: { labplane_lab: 'other-lab' } })), state, cookie);
      expect(res.status).toBeLessThan(500);
      if (res.status === 303) {
        // Accepted as a launch of this course: whatever page it lands on shows nothing of the other tenant's lab.
        const session =
          ([] as string[])
            .concat(res.headers['set-cookie'] ?? [])
            .find((c) => c.startsWith('lp_lti_session='))
            ?.split(';')[0] ?? '';
        const landed = await request(t.app.server)
          .get(new URL(res.headers.location as string, origin).pathname)
          .set('cookie', session);
        expect(landed.text).not.toContain('other-lab');
        expect(landed.text).not.toContain('Secret lab of another tenant');
      }
    });

    it('unknown keys, alg confusion (HS256 with the public key) and unsigned tokens are refused', async () => {
      await refused((nonce) => lms.signIdToken(claims(nonce), { kid: 'not-a-key-of-the-platform' }));
      const jwk = (await lms.jwks()).keys[0] as JsonWebKey & { kid: string };
      const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
      await refused((nonce) =>
        new SignJWT(claims(nonce)).setProtectedHeader({ alg: 'HS256', kid: jwk.kid, typ: 'JWT' }).sign(new TextEncoder().encode(pem)),
      );
      await refused(async (nonce) => `${b64({ alg: 'none', kid: jwk.kid, typ: 'JWT' })}.${b64(claims(nonce))}.`);
      // A missing state cookie (another browser) is refused even with a valid token.
      const { state, nonce } = await login();
      const res = await post(await lms.signIdToken(claims(nonce)), state, '');
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    });
  });
});
