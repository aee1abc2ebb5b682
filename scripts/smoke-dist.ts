// Proves the built output runs as the container runs it: builds dist/, checks the run-time assets
// were copied, starts `node dist/main/server.js` on the embedded default from another working
// directory with PORT=0, waits for /readyz to answer 200, then expects a clean exit on SIGTERM. Usage: npm run deploy:smoke [-- --no-build]
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { packagePath } from '../src/adapters/sim/kube-emulator/package-paths.js';
import { imageSettings } from '../bench/support/image-settings.js';

const root = packagePath([]);
if (!process.argv.includes('--no-build')) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

// Files read at run time next to their module (not TypeScript, not docs) must have been copied.
const src = packagePath(['src']);
const assets = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && !['.ts', '.md'].includes(extname(e.name)))
  .map((e) => relative(src, join(e.parentPath, e.name)));
const missing = assets.filter((a) => !existsSync(packagePath(['dist', a])));
if (missing.length > 0) {
  console.error(`deploy:smoke: not copied to dist/: ${missing.join(', ')}`);
  process.exit(1);
}

const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
for (const name of ['KUBECONFIG', 'KUBERNETES_SERVICE_HOST', 'REDIS_URL', 'KUBE_MODE']) delete env[name];
// process.execPath: the Node that runs this script (npm scripts run on the project's Node 24).
// With the Node flags of the Dockerfile's CMD, so a flag Node refuses fails here rather than in a pod.
const flags = imageSettings(packagePath(['Dockerfile'])).flags;
const child = spawn(process.execPath, [...flags, packagePath(['dist', 'main', 'server.js'])], {
  cwd: tmpdir(),
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});

let output = '';
let listening = false;
// The only wait: start-up of the embedded default, bounded so a hang fails instead of blocking CI.
const deadline = setTimeout(() => fail('no "listening on" line within 60 s'), 60_000);

function fail(message: string): never {
  console.error(`deploy:smoke: ${message}\n${output}`);
  child.kill('SIGKILL');
  process.exit(1);
}

child.on('exit', (code) => {
  if (!listening) fail(`dist/main/server.js exited with ${code} before listening`);
});
child.stdout.setEncoding('utf8');
child.stdout.on('data', (chunk: string) => {
  output += chunk;
  const url = /listening on (http:\/\/\S+)/.exec(output)?.[1];
  if (url === undefined || listening) return;
  listening = true;
  void check(url);
});

async function check(url: string): Promise<void> {
  clearTimeout(deadline);
  // Right after start-up the event-loop delay can still be above MAX_EVENT_LOOP_DELAY_MS and /readyz
  // sheds with 503, as a readiness probe would see it; like the probe, ask again (at most 30 times).
  let last = '';
  for (let attempt = 0; attempt < 30; attempt++) {
    const res = await fetch(`${url}/readyz`);
    if (res.status === 200) break;
    last = `${res.status}: ${await res.text()}`;
    if (attempt === 29) fail(`GET ${url}/readyz never answered 200; last ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  const [code] = await exited;
  if (code !== 0) fail(`after SIGTERM the server exited with ${code}, expected 0`);
  console.log(`deploy:smoke: ${assets.length} asset(s) in dist/; dist/main/server.js answered /readyz 200 on ${url} and stopped cleanly on SIGTERM`);
}
