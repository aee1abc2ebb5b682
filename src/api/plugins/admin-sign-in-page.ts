import { escapeHtml } from '../html.js';

/** Where the sign-in page, its stylesheet and the sign-out form post live. */
export const SIGN_IN_PATH = '/admin/sign-in';
export const SIGN_IN_CSS_PATH = '/admin/sign-in.css';
export const SIGN_OUT_PATH = '/admin/sign-out';

/**
 * The page's own policy, stricter than the app's: no script at all, styles from this origin only,
 * forms post to this origin only, never framed.
 */
export const SIGN_IN_CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The sign-in page; `message` (plain text, escaped here) says why the last attempt was refused. */
export function signInPage(message?: string): string {
  const alert = message === undefined ? '' : `\n      <p class="alert" role="alert">${escapeHtml(message)}</p>`;
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Sign in · labplane queue dashboard</title>
    <link rel="stylesheet" href="${SIGN_IN_CSS_PATH}">
  </head>
  <body>
    <main>
      <h1>labplane queue dashboard</h1>
      <p>Sign in with an access token that holds the <code>queue.admin</code> permission (a platform admin).</p>${alert}
      <form method="post" action="${SIGN_IN_PATH}">
        <label for="token">Access token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required maxlength="8000">
        <button type="submit">Sign in</button>
      </form>
      <form method="post" action="${SIGN_OUT_PATH}" class="sign-out">
        <button type="submit">Sign out</button>
      </form>
    </main>
  </body>
</html>
`;
}

export const SIGN_IN_CSS = `body { font-family: system-ui, sans-serif; background: #f4f5f7; color: #1f2328; margin: 0; }
main { max-width: 28rem; margin: 10vh auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .15); }
h1 { font-size: 1.3rem; margin-top: 0; }
label { display: block; font-weight: 600; margin-bottom: .4rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #8c959f; border-radius: 4px; }
button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; border: 0; border-radius: 4px; background: #0969da; color: #fff; cursor: pointer; }
.sign-out button { background: none; color: #0969da; padding: 0; text-decoration: underline; }
.alert { background: #ffebe9; border: 1px solid #ff8182; padding: .6rem; border-radius: 4px; }
`;
