import { ROLE } from '../../../domain/lti/claims.js';
import type { SimCourse, SimMember, SimResourceLink } from './data.js';
import type { LaunchButton } from './sim-lms.js';

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for HTML element content and quoted attribute values. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export const SIM_ASSETS = '/sim/lms/assets';
export const SIM_CSS_PATH = `${SIM_ASSETS}/sim-lms.css`;
export const SIM_AUTOSUBMIT_PATH = `${SIM_ASSETS}/autosubmit.js`;

/** Policy of the simulated LMS's pages: own-origin styles and scripts; forms may go to `formAction`. */
export function simCsp(formAction: readonly string[] = []): string {
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action ${["'self'", ...formAction].join(' ')}; frame-ancestors 'self'; base-uri 'none'`;
}

export function simPage(title: string, body: string, scripts: readonly string[] = []): string {
  const s = scripts.map((src) => `\n    <script src="${esc(src)}"></script>`).join('');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${esc(title)} · Simulated LMS</title>
    <link rel="stylesheet" href="${SIM_CSS_PATH}">
  </head>
  <body>
    <header><a href="/sim/lms">Simulated LMS</a></header>
    <main>
      <h1>${esc(title)}</h1>
${body}
    </main>${s}
  </body>
</html>
`;
}

export function errorPage(title: string, message: string): string {
  return simPage(title, `      <p class="alert" role="alert">${esc(message)}</p>\n      <p><a href="/sim/lms">Back to the courses</a></p>`);
}

export function coursesPage(courses: readonly SimCourse[]): string {
  const rows = courses
    .map(
      (c) =>
        `        <li><a href="/sim/lms/courses/${encodeURIComponent(c.id)}">${esc(c.label)} ${esc(c.title)}</a> (${c.members.length} members)</li>`,
    )
    .join('\n');
  return simPage(
    'Courses',
    `      <p class="note">A simulated learning platform (LTI 1.3) for trying labplane. Pick a course, then launch as one of its members.</p>
      <ul>
${rows}
      </ul>`,
  );
}

function roleName(m: SimMember): string {
  if (m.roles.includes(ROLE.instructor)) return 'Instructor';
  if (m.roles.includes(ROLE.teachingAssistant)) return 'Teaching assistant';
  if (m.roles.includes(ROLE.learner)) return 'Learner';
  return 'Member';
}

function buttonForm(b: LaunchButton): string {
  const hidden = Object.entries(b.fields)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  return `<form class="inline" method="get" action="${esc(b.action)}">${hidden}<button type="submit">${esc(b.label)}</button></form>`;
}

export function coursePage(course: SimCourse, buttons: (m: SimMember) => readonly LaunchButton[]): string {
  const links =
    course.links.length === 0
      ? '      <p>No labplane activity is placed in this course yet. An instructor can add one.</p>'
      : `      <ul>\n${course.links.map((l) => `        <li>${esc(l.title)}${customText(l)}</li>`).join('\n')}\n      </ul>`;
  const rows = course.members
    .map((m) => {
      const actions = buttons(m).map(buttonForm).join(' ');
      return `        <tr><td>${esc(m.name)}</td><td>${esc(m.email ?? '(hidden)')}</td><td>${esc(roleName(m))}</td><td>${esc(m.status)}</td><td>${actions}</td></tr>`;
    })
    .join('\n');
  return simPage(
    `${course.label} ${course.title}`,
    `      <h2>Activities</h2>
${links}
      <h2>Members</h2>
      <table>
        <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Status</th><th scope="col">Launch</th></tr></thead>
        <tbody>
${rows}
        </tbody>
      </table>`,
  );
}

function customText(l: SimResourceLink): string {
  const entries = Object.entries(l.custom);
  return entries.length === 0 ? '' : ` <code>${esc(entries.map(([k, v]) => `${k}=${v}`).join(', '))}</code>`;
}

/** The form_post answer of the authorization endpoint: posts itself (script of our origin) or by the button. */
export function formPostPage(redirectUri: string, fields: Readonly<Record<string, string>>): string {
  const hidden = Object.entries(fields)
    .map(([k, v]) => `        <input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('\n');
  return simPage(
    'Signing you in to the tool',
    `      <form id="lti-form-post" method="post" action="${esc(redirectUri)}">
${hidden}
        <button type="submit">Continue to the tool</button>
      </form>`,
    [SIM_AUTOSUBMIT_PATH],
  );
}

export function deepLinkDonePage(course: SimCourse, placed: readonly SimResourceLink[], msg?: string, errormsg?: string): string {
  const parts: string[] = [];
  if (errormsg !== undefined) parts.push(`      <p class="alert" role="alert">The tool said: ${esc(errormsg)}</p>`);
  if (msg !== undefined) parts.push(`      <p class="note">The tool said: ${esc(msg)}</p>`);
  parts.push(
    placed.length === 0
      ? '      <p>Nothing was added.</p>'
      : `      <p>Added to ${esc(course.label)}:</p>\n      <ul>\n${placed.map((l) => `        <li>${esc(l.title)}${customText(l)}</li>`).join('\n')}\n      </ul>`,
  );
  parts.push(`      <p><a href="/sim/lms/courses/${encodeURIComponent(course.id)}">Back to ${esc(course.label)}</a></p>`);
  return simPage('Activity added', parts.join('\n'));
}

export const SIM_CSS = `body { font-family: system-ui, sans-serif; background: #f3f0ea; color: #1f2328; margin: 0; }
header { background: #5b3a8c; padding: .6rem 2rem; }
header a { color: #fff; font-weight: 600; text-decoration: none; }
main { max-width: 70rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px; }
h1 { font-size: 1.4rem; margin-top: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
button { padding: .35rem .8rem; font: inherit; border: 0; border-radius: 4px; background: #5b3a8c; color: #fff; cursor: pointer; margin: .1rem 0; }
button:focus-visible, a:focus-visible { outline: 3px solid #fb8f44; outline-offset: 2px; }
form.inline { display: inline; }
code { font-family: ui-monospace, monospace; background: #f6f8fa; padding: .1rem .3rem; border-radius: 4px; }
.alert { background: #ffebe9; border: 1px solid #ff8182; padding: .6rem; border-radius: 4px; }
.note { background: #ddf4ff; border: 1px solid #54aeff; padding: .6rem; border-radius: 4px; }
`;

/** Submits the form_post form at once (the button remains for browsers without scripts). */
export const SIM_AUTOSUBMIT_JS = `(function () {
  var form = document.getElementById('lti-form-post');
  if (form) form.submit();
})();
`;
