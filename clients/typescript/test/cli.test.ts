import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueTenantId, type TestApp } from '../../../test/support/test-app.js';
import { INSTRUCTOR_KEY } from '../../../test/labs/support.js';

// The CLI as a user runs it: a child process (from its TypeScript source, through tsx), against the
// embedded default listening on loopback; under a pseudo-terminal (util-linux `script`) where the
// progress bar is the subject.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

let t: TestApp;
let base: string;
let token: string;
let dir: string;

beforeAll(async () => {
  t = await startTestApp({ LAB_TICK_MS: '200' });
  base = t.url;
  token = (await t.bearer({ sub: 'cli-admin', roles: ['platform-admin'] })).replace(/^Bearer /, '');
  dir = await mkdtemp(join(tmpdir(), 'labplane-cli-'));
});
afterAll(async () => {
  await t?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, LABPLANE_URL: base, LABPLANE_TOKEN: token, LABPLANE_CONFIG: join(dir, 'config.json'), NO_COLOR: '1', ...extra };
}

/** Runs `labplane <args>`; with `tty`, inside `script` so that stdout and stderr are a terminal (merged into stdout). */
function labplane(args: readonly string[], options: { tty?: boolean; env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  const env = cliEnv(options.env);
  const argv = [process.execPath, '--import', 'tsx', MAIN, ...args];
  const [cmd, cmdArgs] = options.tty === true ? ['script', ['-qfec', argv.map(shellQuote).join(' '), '/dev/null']] : [argv[0]!, argv.slice(1)];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { cwd: ROOT, env, stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    child.stdin?.end(options.stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function createTenant(): Promise<string> {
  const id = uniqueTenantId('cli');
  const run = await labplane(['tenants', 'create', id, '--display-name', 'CLI course', '--owner', 'olga', '-o', 'json']);
  expect(run.code, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ id, displayName: 'CLI course', profile: 'faculty' });
  return id;
}

const CANVAS_EXPORT = [
  '"Student","ID","SIS User ID","SIS Login ID","Section","Lab 1 (1234)","Current Score"',
  '"    Points Possible","","","","","10.00","(read only)"',
  '"Lovelace, Ada","101","S101","ada.lovelace@uni.example","CS 201 A","9.00","90"',
  '"Turing, Alan","102","S102","aturing","CS 201 A","8.00","80"',
  '"Hopper, Grace","103","S103","grace.hopper@uni.example","CS 201 B","","0"',
  '"Student, Test","104","","","CS 201 A","",""',
].join('\r\n');

// Each test starts two to four CLI processes, a few seconds each on a loaded machine (node, tsx, the
// CLI's modules), besides the lab it may wait for: the limit is above the component slice's 60 s.
describe('the labplane CLI against the embedded default', { timeout: 180_000 }, () => {
  it('creates a lab from a Canvas roster and waits for it with a progress bar on a terminal', async () => {
    const tenant = await createTenant();
    const roster = join(dir, 'canvas.csv');
    await writeFile(roster, CANVAS_EXPORT);
    const keyFile = join(dir, 'instructor.pub');
    await writeFile(keyFile, `${INSTRUCTOR_KEY}\n`);
    const run = await labplane(
      [
        'labs', 'create', 'cs-201', '--tenant', tenant, '--image', 'platform/ubuntu-24-04', '--instance-type', 'small', '--disk-gi', '10',
        '--storage-class', 'kv-standard', '--ssh-key-file', keyFile, '--roster', roster, '--login-domain', 'uni.example', '--wait',
      ], // prettier-ignore
      { tty: true },
    );
    expect(run.code, run.stdout).toBe(0);
    // The roster: three students (the points row left out silently, the test student with a reason).
    expect(run.stdout).toContain('3 students (canvas export)');
    expect(run.stdout).toMatch(/canvas\.csv:6: left out: Canvas' Test Student/);
    // The bar, redrawn in place: several frames on one line, the last at 100 %.
    const frames = run.stdout.match(/lab\.sync \[[#-]{40}\] \d+% \| \w+/g) ?? [];
    expect(frames.length, run.stdout).toBeGreaterThanOrEqual(2);
    expect(frames.at(-1)).toMatch(/\[#{40}\] 100% \| succeeded/);
    expect(run.stdout.includes('\u001b[') || run.stdout.includes('\r')).toBe(true);
    // The result after the bar: the operation as a table row.
    expect(run.stdout).toMatch(/ID\s+KIND\s+STATUS[^\n]*\n[^\n]*lab\.sync\s+succeeded\s+100/);
    const students = await labplane(['labs', 'students', 'cs-201', '--tenant', tenant, '-o', 'json']);
    expect(students.code, students.stderr).toBe(0);
    const list = JSON.parse(students.stdout) as { email: string; displayName: string; status: string }[];
    expect(list.map((s) => [s.email, s.displayName, s.status]).sort()).toEqual([
      ['ada.lovelace@uni.example', 'Ada Lovelace', 'ready'],
      ['aturing@uni.example', 'Alan Turing', 'ready'],
      ['grace.hopper@uni.example', 'Grace Hopper', 'ready'],
    ]);
  });

  it('without a terminal, --wait prints one plain line per change to stderr and the result alone to stdout', async () => {
    const tenant = await createTenant();
    const roster = join(dir, 'moodle.csv');
    await writeFile(
      roster,
      '\uFEFF"First name","Last name","Email address","Roles"\n"Edsger","Dijkstra","ewd@uni.example","Student"\n"Olga","Prof","olga@uni.example","Teacher"\n',
    );
    const run = await labplane(
      ['labs', 'create', 'algo', '-t', tenant, '--image', 'ubuntu-24-04', '--disk-gi', '10', '--storage-class', 'kv-standard', '--instance-type', 'small', '--ssh-key-file', join(dir, 'instructor.pub'), '--roster', roster, '--wait', '-o', 'json'], // prettier-ignore
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ kind: 'lab.sync', status: 'succeeded', result: { summary: { total: 1, ready: 1 } } });
    expect(run.stderr).toMatch(/moodle\.csv:3: left out: role 'Teacher' is not Student/);
    expect(run.stderr).toMatch(/^lab\.sync [0-9a-f-]{36}: succeeded 100%/m);
    expect(run.stderr).not.toMatch(/\[[#-]{40}\]/);
  });

  it('Ctrl-C while waiting stops the wait (exit 130) and leaves the operation running', async () => {
    const tenant = await createTenant();
    // The worker is stopped while the CLI waits, so the operation is still open whenever the CLI
    // (a child process, slow to start on a loaded machine) gets to look at it and is interrupted.
    await t.deps.jobs.engine.stop({ graceMs: 0 });
    const create = await labplane(['labs', 'create', 'long', '-t', tenant, '-f', '-', '-o', 'json'], {
      stdin: JSON.stringify({
        template: { image: { scope: 'platform', name: 'ubuntu-24-04' }, instanceType: 'small', diskGi: 10, storageClass: 'kv-standard', arc: true },
        students: [{ email: 'a@uni.example' }, { email: 'b@uni.example' }],
      }),
    });
    expect(create.code, create.stderr).toBe(0);
    const op = JSON.parse(create.stdout) as { id: string; status: string };
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'operations', 'wait', op.id], {
      cwd: ROOT,
      env: cliEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const firstLine = new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes(op.id)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await firstLine;
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain(`stopped waiting; operation ${op.id} goes on: labplane operations wait ${op.id}`);
    const after = await labplane(['operations', 'get', op.id, '-o', 'json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ id: op.id, cancelRequested: false });
    expect(['queued', 'running']).toContain((JSON.parse(after.stdout) as { status: string }).status);
    await t.deps.jobs.engine.startWorker({ concurrency: 4 });
  });

  it('lists every page of a tenant with -o json and -o yaml', async () => {
    const tenant = await createTenant();
    const json = await labplane(['tenants', 'list', '-o', 'json']);
    expect(json.code, json.stderr).toBe(0);
    const tenants = JSON.parse(json.stdout) as { id: string }[];
    expect(tenants.map((x) => x.id)).toContain(tenant);
    const yaml = await labplane(['tenants', 'get', tenant, '-o', 'yaml']);
    expect(yaml.stdout).toMatch(new RegExp(`^id: ${tenant}$`, 'm'));
    const table = await labplane(['tenants', 'list', '--max', '1']);
    expect(table.stdout.trim().split('\n')).toHaveLength(2);
    expect(table.stdout).toMatch(/^ID\s+DISPLAY NAME\s+PROFILE\s+PHASE\s+VMS$/m);
  });

  it("prints a problem's code and detail and exits non-zero", async () => {
    const missing = await labplane(['tenants', 'get', 'no-such-tenant']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: TENANT_NOT_FOUND \(404\): .+/m);
    expect(missing.stdout).toBe('');
    const invalid = await labplane(['tenants', 'create', 'Bad Id']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: VALIDATION_FAILED \(400\): /m);
    expect(invalid.stderr).toMatch(/^ {2}\/id: /m);
    // A body the contract accepts (the import's source built from the URL) that the rules refuse.
    const refused = await labplane(['images', 'import', 'ubuntu', '--source', 'https://images.uni.example/ubuntu.qcow2', '--size-gi', '10']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: URL_NOT_ALLOWED \(422\): /m);
    const anonymous = await labplane(['tenants', 'list'], { env: { LABPLANE_TOKEN: '' } });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^error: \w+ \(401\)/m);
    const usage = await labplane(['vms', 'list'], { env: { LABPLANE_TENANT: '' } });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--tenant');
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const unreachable = await labplane(['tenants', 'list'], { env: { LABPLANE_URL: `http://127.0.0.1:${port}` } });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^error: cannot reach the API \(ECONNREFUSED\)/m);
  });

  it('login --token stores the URL and token readable by the owner only, and later commands use them', async () => {
    const config = join(dir, 'login', 'config.json');
    const login = await labplane(['login', '--token', token, '--url', base], {
      env: { LABPLANE_CONFIG: config, LABPLANE_TOKEN: '', LABPLANE_URL: '' },
    });
    expect(login.code, login.stderr).toBe(0);
    expect((await stat(config)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({ url: base, token });
    const env = { LABPLANE_CONFIG: config, LABPLANE_TOKEN: '', LABPLANE_URL: '' };
    // Empty variables count as unset.
    const list = await labplane(['tenants', 'list', '--max', '1', '-o', 'json'], { env });
    expect(list.code, list.stderr).toBe(0);
    expect(await labplane(['logout'], { env })).toMatchObject({ code: 0 });
    expect(JSON.parse(await readFile(config, 'utf8'))).toEqual({ url: base });
    expect((await labplane(['tenants', 'list'], { env })).code).toBe(1);
  });

  it('completes commands, subcommands and options in bash', async () => {
    const script = await labplane(['completion', 'bash']);
    expect(script.code).toBe(0);
    const file = join(dir, 'completion.bash');
    await writeFile(file, script.stdout);
    const complete = (words: string[]) =>
      new Promise<string>((resolve, reject) => {
        const line = `source ${shellQuote(file)}; COMP_WORDS=(${words.map(shellQuote).join(' ')}); COMP_CWORD=${words.length - 1}; _labplane; echo "\${COMPREPLY[*]}"`;
        const child = spawn('bash', ['-c', line], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.on('error', reject);
        child.on('close', () => resolve(out.trim()));
      });
    expect((await complete(['labplane', 'la'])).split(' ')).toEqual(['labs']);
    expect((await complete(['labplane', 'labs', ''])).split(' ')).toEqual(expect.arrayContaining(['list', 'create', 'roster', 'students', 'delete']));
    expect((await complete(['labplane', 'labs', 'create', '--ro'])).split(' ')).toEqual(['--roster', '--roster-format']);
    expect((await complete(['labplane', '-o', ''])).split(' ')).toEqual(['table', 'json', 'yaml']);
    const zsh = await labplane(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit$/m);
  });
});
