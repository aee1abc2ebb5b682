/**
 * The console pages (VNC with noVNC, serial with xterm.js) and their scripts. Kept as strings (like
 * the GraphiQL page) so the built image carries them without copying assets. The page takes the
 * ticket from the URL fragment (`#ticket=...`: never sent to a server, so never in Referer or access
 * logs), drops it from the address bar at once, and opens `/v1/console/{ticket}` on this origin.
 */

export const CONSOLE_ASSET_PREFIX = '/console/assets';
export const VNC_PAGE_PATH = '/console/vnc';
export const SERIAL_PAGE_PATH = '/console/serial';

/** The pages' CSP over the app's: scripts only as files from this origin; websockets only to it. */
export const CONSOLE_CSP_DIRECTIVES = {
  'script-src': ["'self'"],
  // xterm.js writes its theme and cell sizes into <style> elements it creates (no nonce can be given).
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'frame-ancestors': ["'none'"],
};

function page(title: string, script: string, styles: readonly string[], toolbar: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta name="referrer" content="no-referrer">
  <title>${title}</title>
  <link rel="icon" href="data:,">
${styles.map((s) => `  <link rel="stylesheet" href="${s}">`).join('\n')}
</head>
<body>
  <header class="bar">
    <strong>${title}</strong>
    <span id="status" role="status">Connecting…</span>
    <span class="tools">${toolbar}<button type="button" id="fullscreen">Full screen</button></span>
  </header>
  <main id="console">${body}</main>
  <script type="module" src="${script}"></script>
</body>
</html>
`;
}

export const VNC_HTML = page(
  'labplane VNC console',
  `${CONSOLE_ASSET_PREFIX}/vnc.js`,
  [`${CONSOLE_ASSET_PREFIX}/console.css`],
  `<button type="button" id="ctrl-alt-del">Ctrl-Alt-Del</button>
    <input type="text" id="paste-text" aria-label="Text to type into the VM" placeholder="Text to type">
    <button type="button" id="paste">Type text</button>`,
  '<div id="screen" tabindex="0"></div>',
);

export const SERIAL_HTML = page(
  'labplane serial console',
  `${CONSOLE_ASSET_PREFIX}/serial.js`,
  [`${CONSOLE_ASSET_PREFIX}/xterm/xterm.css`, `${CONSOLE_ASSET_PREFIX}/console.css`],
  '',
  '<div id="terminal"></div>',
);

export const CONSOLE_CSS = `html, body { height: 100%; margin: 0; background: #111; color: #eee; font: 14px system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
.bar { display: flex; gap: 1em; align-items: center; padding: 6px 10px; background: #222; }
.bar .tools { margin-left: auto; display: flex; gap: 6px; }
#console { flex: 1; min-height: 0; }
#screen, #terminal { width: 100%; height: 100%; }
#status.error { color: #f88; }
`;

/** Shared start of both scripts: the ticket from the fragment, the socket URL, status and full screen. */
const COMMON_JS = `
const status = document.getElementById('status');
function setStatus(text, error) {
  status.textContent = text;
  status.classList.toggle('error', Boolean(error));
}
const params = new URLSearchParams(window.location.hash.slice(1));
const ticket = params.get('ticket') || '';
// The ticket is single use: out of the address bar and the history at once.
window.history.replaceState(null, '', window.location.pathname);
const socketUrl = (window.location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + window.location.host + '/v1/console/' + encodeURIComponent(ticket);
document.getElementById('fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.getElementById('console').requestFullscreen();
});
`;

export const VNC_JS = `import RFB from './novnc/core/rfb.js';
${COMMON_JS}
if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) {
  setStatus('No console ticket: open this page from the API answer (url of POST .../console).', true);
} else {
  const rfb = new RFB(document.getElementById('screen'), socketUrl);
  rfb.scaleViewport = true;
  rfb.focusOnClick = true;
  rfb.addEventListener('connect', () => {
    setStatus('Connected');
    rfb.focus();
  });
  rfb.addEventListener('disconnect', (e) => setStatus(e.detail.clean ? 'Disconnected' : 'Connection lost', !e.detail.clean));
  rfb.addEventListener('securityfailure', (e) => setStatus('Refused: ' + (e.detail.reason || 'security failure'), true));
  document.getElementById('ctrl-alt-del').addEventListener('click', () => {
    rfb.sendCtrlAltDel();
    rfb.focus();
  });
  // Paste: the text is typed as key presses (a VM console has no shared clipboard), and also offered
  // as the VNC clipboard for guests that read it.
  document.getElementById('paste').addEventListener('click', () => {
    const input = document.getElementById('paste-text');
    const text = input.value;
    rfb.clipboardPasteFrom(text);
    for (const ch of text) {
      const code = ch.codePointAt(0);
      const keysym = ch === '\\n' ? 0xff0d : code < 0x100 ? code : 0x01000000 + code;
      rfb.sendKey(keysym, null);
    }
    input.value = '';
    rfb.focus();
  });
}
`;

export const SERIAL_JS = `import { Terminal } from './xterm/xterm.mjs';
${COMMON_JS}
const term = new Terminal({ cursorBlink: true, scrollback: 5000 });
term.open(document.getElementById('terminal'));
if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) {
  setStatus('No console ticket: open this page from the API answer (url of POST .../console).', true);
} else {
  const socket = new WebSocket(socketUrl);
  socket.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  socket.addEventListener('open', () => {
    setStatus('Connected');
    term.focus();
  });
  socket.addEventListener('message', (e) => term.write(new Uint8Array(e.data)));
  socket.addEventListener('close', (e) => setStatus(e.wasClean ? 'Disconnected' : 'Connection lost', !e.wasClean));
  // Keys and pastes alike arrive here (xterm.js handles the clipboard).
  term.onData((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(encoder.encode(data));
  });
  term.onBinary((data) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(Uint8Array.from(data, (c) => c.charCodeAt(0)));
  });
}
`;
