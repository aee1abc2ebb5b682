import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { arcMachineName } from '../../src/domain/identity/arc-machine.js';
import { studentVmName } from '../../src/domain/labs/lab-rules.js';
import { ADA, BOB, CY, DEE, LAB, LAB_B, NOW, startPagesRig, TENANT_A, TENANT_B, type PagesRig } from './pages-rig.js';

const HOST = 'labplane.test';
const FORM = 'application/x-www-form-urlencoded';

let r: PagesRig;
beforeAll(async () => {
  r = await startPagesRig();
});
afterAll(async () => {
  await r?.close();
});

function get(url: string, cookie?: string) {
  return r.app.inject({ method: 'GET', url, headers: { host: HOST, ...(cookie === undefined ? {} : { cookie }) } });
}

function post(url: string, cookie: string | undefined, body: string, headers: Record<string, string> = { origin: `https://${HOST}` }) {
  return r.app.inject({
    method: 'POST',
    url,
    headers: { host: HOST, 'content-type': FORM, ...(cookie === undefined ? {} : { cookie }), ...headers },
    payload: body,
  });
}

const h1s = (html: string) => html.match(/<h1>/g)?.length ?? 0;
const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

describe('LTI pages: session and page security', () => {
  it('answers 401 with a plain page when the cookie is missing, unknown or its session expired', async () => {
    const expired = await r.session({ role: 'learner', userId: ADA, expiresAt: NOW - 1 });
    for (const cookie of [undefined, 'lp_lti_session=nope', expired.cookie, 'other=1']) {
      const res = await get('/lti/learner', cookie);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('Launch labplane again from your course');
      expect(res.headers['cache-control']).toBe('no-store');
    }
  });

  it('answers 403 when the session is of the other role', async () => {
    const learner = await r.session({ role: 'learner', userId: ADA });
    const instructor = await r.session({ role: 'instructor', userId: DEE });
    expect((await get('/lti/instructor', learner.cookie)).statusCode).toBe(403);
    expect((await get('/lti/learner', instructor.cookie)).statusCode).toBe(403);
    const res = await post('/lti/instructor/sync', learner.cookie, `csrf=${learner.session.csrf}`);
    expect(res.statusCode).toBe(403);
    expect(r.syncs).toEqual([]);
  });

  it('is frameable by the configured ancestors (no X-Frame-Options), never cached, and served with its stylesheet', async () => {
    const { cookie } = await r.session({ role: 'learner', userId: ADA });
    const res = await get('/lti/learner', cookie);
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-frame-options']).toBeUndefined();
    expect(res.headers['content-security-policy']).toContain('frame-ancestors *');
    expect(res.headers['content-security-policy']).toContain("form-action 'self'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('same-origin');
    const css = await get('/lti/assets/lti.css');
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.body).toContain('focus-visible');
  });

  it('refuses a POST without the csrf field, with a wrong one, or from another site, and does nothing', async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: ADA });
    const before = r.started.length;
    const cases = [
      await post('/lti/learner/start', cookie, ''),
      await post('/lti/learner/start', cookie, 'csrf='),
      await post('/lti/learner/start', cookie, `csrf=${session.csrf}x`),
      await post('/lti/learner/start', cookie, `csrf=${session.csrf.slice(0, -1)}`),
      await post('/lti/learner/start', cookie, `csrf=${session.csrf}`, { origin: 'https://evil.example' }),
      await post('/lti/learner/start', cookie, `csrf=${session.csrf}`, { origin: 'null' }),
    ];
    for (const res of cases) {
      expect(res.statusCode).toBe(403);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toContain('role="alert"');
    }
    expect(r.started.length).toBe(before);
  });

  it('refuses a form body over 4 KiB with 413', async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: ADA });
    const res = await post('/lti/learner/start', cookie, `csrf=${session.csrf}&pad=${'x'.repeat(5000)}`);
    expect(res.statusCode).toBe(413);
  });
});

describe('LTI learner page', () => {
  it("shows the learner's own VM, its sign-in readiness, the az ssh arc command and Start only", async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: ADA, name: 'Ada' });
    const res = await get('/lti/learner', cookie);
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(html).toContain('<html lang="en">');
    expect(h1s(html)).toBe(1);
    expect(html).toContain('Your VM in Operating Systems lab');
    expect(html).toContain(studentVmName(LAB, ADA));
    expect(html).not.toContain(studentVmName(LAB, BOB));
    expect(html).toContain('Stopped');
    expect(html).toContain('<dt>Azure Arc</dt><dd>Connected</dd>');
    expect(html).toContain('<dt>Access granted (ready to sign in)</dt><dd>Yes</dd>');
    expect(html).toMatch(
      new RegExp(
        `<pre[^>]*><code>az ssh arc --subscription 0b1f6471-1bf0-4dda-aec3-111122223333 --resource-group rg-labs --name ${arcMachineName(TENANT_A, studentVmName(LAB, ADA))}</code></pre>`,
      ),
    );
    expect(html).toContain('action="/lti/learner/start"');
    expect(html).not.toContain('action="/lti/learner/stop"');
    expect(csrfOf(html)).toBe(session.csrf);
  });

  it('starts the VM as the learner (a tenant member) and goes back to the page with a notice', async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: ADA });
    const res = await post('/lti/learner/start', cookie, `csrf=${encodeURIComponent(session.csrf)}`);
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers['location']).toBe('/lti/learner?notice=started');
    const op = r.started.at(-1);
    expect(op).toMatchObject({ kind: 'vm.start', tenant: TENANT_A, target: studentVmName(LAB, ADA) });
    expect(op?.by.id).toBe(ADA);
    expect(op?.by.tenantRoles.get(TENANT_A)).toBe('member');
    expect(op?.by.platformAdmin).toBe(false);
    await expect
      .poll(async () => (await r.auditLog.list({ actor: ADA }, { limit: 50 })).items.find((e) => e.action === 'startLtiLearnerVm'))
      .toMatchObject({ result: { status: 303 } });
    const page = await get('/lti/learner?notice=started', cookie);
    expect(page.body).toContain('role="status"');
    expect(page.body).toContain('Your VM is starting');
    expect(page.body).toContain('action="/lti/learner/stop"');
    expect(page.body).not.toContain('action="/lti/learner/start"');

    const stop = await post('/lti/learner/stop', cookie, `csrf=${session.csrf}`, {});
    expect(stop.statusCode).toBe(303);
    expect(r.started.at(-1)).toMatchObject({ kind: 'vm.stop', target: studentVmName(LAB, ADA) });
  });

  it("answers a refused action (the VM's state does not allow it) with a plain 409 page", async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: BOB });
    const res = await post('/lti/learner/start', cookie, `csrf=${session.csrf}`);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Cannot start VM');
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });

  it('cannot reach a lab of another tenant: a session of tenant A naming a lab of B sees and acts on nothing', async () => {
    const { cookie, session } = await r.session({ role: 'learner', userId: ADA, tenant: TENANT_A, lab: LAB_B });
    const before = r.started.length;
    const page = await get('/lti/learner', cookie);
    expect(page.statusCode).toBe(404);
    expect(page.body).not.toContain(studentVmName(LAB_B, ADA));
    const res = await post('/lti/learner/stop', cookie, `csrf=${session.csrf}`);
    expect(res.statusCode).toBe(409);
    expect(r.started.length).toBe(before);
    expect((await r.vmRepo.get(TENANT_B, studentVmName(LAB_B, ADA)))?.runStrategy).toBe('Always');
  });

  it('tells a learner who is not in the directory that they got no VM', async () => {
    const { cookie } = await r.session({ role: 'learner' });
    const res = await get('/lti/learner', cookie);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('not in the university directory');
    expect(res.body).not.toContain('<form');
  });

  it('tells a learner not on the roster yet, with the last roster sync of the course', async () => {
    const { cookie } = await r.session({ role: 'learner', userId: DEE });
    const res = await get('/lti/learner', cookie);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('not on the lab\u2019s roster yet');
    expect(res.body).toContain('<dt>Last sync</dt><dd>2026-12-06 11:30 UTC</dd>');
    expect(res.body).toContain('<dt>Outcome</dt><dd>Succeeded</dd>');
    // Other members' data is the instructors' business.
    expect(res.body).not.toContain('Zed');
    expect(res.body).not.toContain('<form');
  });

  it('tells a learner whose VM failed that it is being prepared, with the reason (escaped)', async () => {
    const { cookie } = await r.session({ role: 'learner', userId: CY });
    const res = await get('/lti/learner', cookie);
    expect(res.body).toContain('Your VM is being prepared (Failed)');
    expect(res.body).toContain('The image could not be cloned: &lt;disk full&gt;.');
  });
});

describe('LTI instructor page', () => {
  it('shows the lab, its students (table with headers), Retry for failed ones only, and the roster sync', async () => {
    const { cookie, session } = await r.session({ role: 'instructor', userId: DEE });
    const res = await get('/lti/instructor', cookie);
    expect(res.statusCode).toBe(200);
    const html = res.body;
    expect(h1s(html)).toBe(1);
    expect(html).toContain('Lab Operating Systems lab');
    expect(html).toContain('<dt>Course</dt><dd>Operating Systems 101</dd>');
    expect(html).toContain('<dt>Phase</dt>');
    expect(html).toContain('3 in total');
    for (const th of ['Name', 'Email', 'Status', 'VM state', 'Failure reason']) expect(html).toContain(`<th scope="col">${th}</th>`);
    expect(html).toContain('<caption>');
    expect(html).toContain('Bob &lt;script&gt;');
    expect(html).not.toContain('Bob <script>');
    expect(html.match(/\/retry"/g)?.length).toBe(1);
    expect(html).toContain(`action="/lti/instructor/students/${CY}/retry"`);
    expect(html).toContain('aria-label="Retry Cy Young"');
    expect(html).toContain('The image could not be cloned: &lt;disk full&gt;.');
    expect(html).toContain('<dt>Started by</dt><dd>the schedule</dd>');
    expect(html).toContain('<dt>Course members</dt><dd>5</dd>');
    expect(html).toContain('Zed &lt;Z&gt;');
    expect(html).toContain('Not found in the university directory');
    expect(html).toContain('action="/lti/instructor/sync"');
    expect(csrfOf(html)).toBe(session.csrf);
  });

  it('retries a failed student of its lab as the LMS integration acting for the instructor', async () => {
    const { cookie, session } = await r.session({ role: 'instructor', userId: DEE });
    const res = await post(`/lti/instructor/students/${CY}/retry`, cookie, `csrf=${session.csrf}`);
    expect(res.statusCode, res.body).toBe(303);
    expect(res.headers['location']).toBe('/lti/instructor?notice=retried');
    const op = r.started.at(-1);
    expect(op).toMatchObject({ kind: 'lab.sync', tenant: TENANT_A, target: LAB });
    expect(op?.by).toMatchObject({ id: 'lti:reg-1', kind: 'service', onBehalfOf: DEE, platformAdmin: false });
    expect([...(op?.by.integrationTenants ?? [])]).toEqual([TENANT_A]);
    // Audited as the LMS integration acting for the instructor; the form's token is not in the event.
    await expect
      .poll(async () => (await r.auditLog.list({ actor: 'lti:reg-1' }, { limit: 50 })).items.find((e) => e.action === 'retryLtiLabStudent'))
      .toMatchObject({ onBehalfOf: DEE, path: `/lti/instructor/students/${CY}/retry`, result: { status: 303 } });
    expect(JSON.stringify((await r.auditLog.list({}, { limit: 500 })).items)).not.toContain(session.csrf);
    const page = await get('/lti/instructor?notice=retried', cookie);
    expect(page.body).toContain('Provisioning of the student started again.');
    expect(page.body).not.toContain('/retry"');
  });

  it('answers a retry that is not possible with a plain page (ready student 409, unknown student 404)', async () => {
    const { cookie, session } = await r.session({ role: 'instructor', userId: DEE });
    const ready = await post(`/lti/instructor/students/${BOB}/retry`, cookie, `csrf=${session.csrf}`);
    expect(ready.statusCode).toBe(409);
    expect(ready.body).toContain('only a failed or pending student can be retried');
    const unknown = await post('/lti/instructor/students/someone-else/retry', cookie, `csrf=${session.csrf}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^text\/html/);
  });

  it("starts a manual roster sync of the session's lab", async () => {
    const { cookie, session } = await r.session({ role: 'instructor', userId: DEE });
    const bad = await post('/lti/instructor/sync', cookie, 'csrf=wrong');
    expect(bad.statusCode).toBe(403);
    expect(r.syncs).toEqual([]);
    const res = await post('/lti/instructor/sync', cookie, `csrf=${session.csrf}`);
    expect(res.statusCode).toBe(303);
    expect(res.headers['location']).toBe('/lti/instructor?notice=sync-started');
    expect(r.syncs).toEqual([{ tenant: TENANT_A, lab: LAB, trigger: 'manual', by: DEE }]);
  });

  it('refuses a lab bound to another course (or another registration), on the page and for actions', async () => {
    const syncs = r.syncs.length;
    const started = r.started.length;
    for (const other of [{ contextId: 'ctx-other' }, { registrationId: 'reg-2' }]) {
      const { cookie, session } = await r.session({ role: 'instructor', userId: DEE, ...other });
      const page = await get('/lti/instructor', cookie);
      expect(page.statusCode).toBe(403);
      expect(page.body).toContain('belongs to another course');
      expect((await post('/lti/instructor/sync', cookie, `csrf=${session.csrf}`)).statusCode).toBe(403);
      expect((await post(`/lti/instructor/students/${CY}/retry`, cookie, `csrf=${session.csrf}`)).statusCode).toBe(403);
    }
    expect(r.syncs.length).toBe(syncs);
    expect(r.started.length).toBe(started);
  });

  it('points to Deep Linking when the course has no lab, and offers no sync for a lab not linked to a course', async () => {
    const none = await r.session({ role: 'instructor', userId: DEE, lab: undefined });
    const res = await get('/lti/instructor', none.cookie);
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('This course has no labplane lab yet');
    const other = await r.session({ role: 'instructor', userId: DEE, tenant: TENANT_A, lab: LAB_B });
    expect((await get('/lti/instructor', other.cookie)).body).toContain('This course has no labplane lab yet');
    const unbound = await r.session({ role: 'instructor', userId: DEE, tenant: TENANT_B, lab: LAB_B });
    const page = await get('/lti/instructor', unbound.cookie);
    expect(page.body).toContain('not linked to a course');
    expect(page.body).not.toContain('action="/lti/instructor/sync"');
    const sync = await post('/lti/instructor/sync', unbound.cookie, `csrf=${unbound.session.csrf}`);
    expect(sync.statusCode).toBe(409);
    expect(r.syncs.filter((s) => s.tenant === TENANT_B)).toEqual([]);
  });
});
