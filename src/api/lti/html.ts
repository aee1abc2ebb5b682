import { escapeHtml } from '../html.js';

export { escapeHtml };

/** Where the LTI pages' stylesheet and scripts are served from (our own origin; no CDN). */
export const LTI_ASSETS = '/lti/assets';
export const LTI_CSS_PATH = `${LTI_ASSETS}/lti.css`;

/**
 * Policy of the LTI pages. They are shown inside the LMS (an iframe), so framing is allowed by the
 * ancestors given (LTI_FRAME_ANCESTORS; the LMS's origin is not known in advance); scripts, styles
 * and forms from this origin only (a Deep Linking answer also posts to the platform: `formAction`).
 */
export function ltiCsp(frameAncestors: string, formAction: readonly string[] = []): string {
  const forms = ["'self'", ...formAction].join(' ');
  return `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action ${forms}; frame-ancestors ${frameAncestors}; base-uri 'none'`;
}

export interface PageOptions {
  /** Scripts of this origin (paths under LTI_ASSETS) to load at the end of the body. */
  readonly scripts?: readonly string[];
}

/**
 * An LTI page: accessible shell (language, viewport, one h1, a main landmark), our stylesheet.
 * `title` is text (escaped here); `body` is HTML the caller built with `escapeHtml` on every value.
 */
export function page(title: string, body: string, options: PageOptions = {}): string {
  const scripts = (options.scripts ?? []).map((src) => `\n    <script src="${escapeHtml(src)}"></script>`).join('');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>${escapeHtml(title)} · labplane</title>
    <link rel="stylesheet" href="${LTI_CSS_PATH}">
  </head>
  <body>
    <main>
      <h1>${escapeHtml(title)}</h1>
${body}
    </main>${scripts}
  </body>
</html>
`;
}

/** A page that says why a launch or an action was refused (plain text, escaped here). */
export function refusalPage(title: string, message: string): string {
  return page(title, `      <p class="alert" role="alert">${escapeHtml(message)}</p>`);
}

export const LTI_CSS = `body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1f2328; margin: 0; }
main { max-width: 60rem; margin: 1.5rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
h1 { font-size: 1.4rem; margin-top: 0; }
h2 { font-size: 1.1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #d0d7de; }
label { display: block; font-weight: 600; margin: .6rem 0 .3rem; }
input, select { padding: .4rem; font: inherit; border: 1px solid #8c959f; border-radius: 4px; }
button { padding: .45rem 1.1rem; font: inherit; border: 0; border-radius: 4px; background: #0969da; color: #fff; cursor: pointer; }
button:focus-visible, a:focus-visible { outline: 3px solid #fb8f44; outline-offset: 2px; }
button.secondary { background: #eaeef2; color: #1f2328; }
form.inline { display: inline; }
code, pre { font-family: ui-monospace, monospace; background: #f6f8fa; padding: .2rem .4rem; border-radius: 4px; }
pre { padding: .8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
.alert { background: #ffebe9; border: 1px solid #ff8182; padding: .6rem; border-radius: 4px; }
.note { background: #ddf4ff; border: 1px solid #54aeff; padding: .6rem; border-radius: 4px; }
.status { font-weight: 600; }
`;
