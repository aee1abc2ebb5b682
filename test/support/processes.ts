import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort, writeKubeconfig } from '../startup/support.js';

/**
 * Real processes for the tests that are about processes (leader failover, kill -9, a frozen API
 * server, a Redis restart): a node entry point or any command started with a given environment,
 * its JSON log lines kept as they come, and the signals those tests send.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** stdout lines parsed as JSON (others as `{ msg: line }`), stderr as `{ msg, stderr: true }`, then how it exited. */
  readonly logs: LogLine[];
  /** Whether a log line's `msg` starts with `msg`. */
  logged(msg: string): boolean;
  readonly running: boolean;
  /** kill -9, resolved once it is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, resolved with the exit code once it is gone (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGSTOP / SIGCONT: the process keeps its sockets but does nothing. */
  freeze(): void;
  thaw(): void;
  /** The last lines, for failure messages. */
  tail(n?: number): string;
}

/** Starts `command args` with only `env` (plus PATH and HOME) and keeps its output as log lines. */
export function spawnProc(name: string, command: string, args: readonly string[], env: Record<string, string>): Proc {
  const child = spawn(command, [...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => logs.push({ msg: chunk.toString(), stderr: true }));
  child.on('exit', (code, signal) => logs.push({ msg: `exited with ${String(code ?? signal)}` }));
  child.on('error', (err) => logs.push({ msg: `could not start: ${err.message}` }));
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  const exited = (): Promise<unknown> => (gone() ? Promise.resolve() : once(child, 'exit'));
  return {
    name,
    child,
    logs,
    logged: (msg) => logs.some((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(msg)),
    get running() {
      return !gone();
    },
    async kill9() {
      const done = exited();
      if (!gone()) child.kill('SIGKILL');
      await done;
    },
    async stop(graceMs = 15_000) {
      const done = exited();
      if (!gone()) child.kill('SIGCONT');
      if (!gone()) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
      return child.exitCode;
    },
    freeze: () => void child.kill('SIGSTOP'),
    thaw: () => void child.kill('SIGCONT'),
    tail: (n = 8) =>
      `${name}: ${logs
        .slice(-n)
        .map((l) => String(l['msg']))
        .join(' | ')}`,
  };
}

/** Runs a TypeScript entry point (path from the repository root) as `npm start` runs src/main/server.ts. */
export function spawnNode(name: string, entry: string, env: Record<string, string>, args: readonly string[] = []): Proc {
  return spawnProc(name, process.execPath, ['--import', 'tsx', entry, ...args], env);
}

/** Polls `probe` every 50 ms until it returns something other than undefined/false. */
export async function until<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The emulator in a process of its own (test/support/kube-emulator-main.ts) and a kubeconfig for it. */
export interface KubeProcess {
  readonly proc: Proc;
  readonly url: string;
  readonly kubeconfig: string;
  /** GET a path of the API server (JSON), undefined on 404. */
  get<T = Record<string, unknown>>(path: string): Promise<T | undefined>;
  /** The items of a list (`/apis/kubevirt.io/v1/virtualmachines?labelSelector=...`). */
  list(
    path: string,
  ): Promise<
    Array<{ metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: unknown[] }; [k: string]: unknown }>
  >;
  post(path: string, body: unknown): Promise<void>;
}

// Booting an entry point loads the service through tsx: ~5 s on an idle machine, several times that
// on a busy one. The bounds are generous; the scenarios have their own.
const BOOT_MS = 120_000;

export async function startKubeProcess(): Promise<KubeProcess> {
  const proc = spawnNode('kube-apiserver', 'test/support/kube-emulator-main.ts', {});
  const line = await until(
    () =>
      proc.logs.find((l) => l['msg'] === 'kube emulator listening') ??
      (proc.running
        ? undefined
        : (() => {
            throw new Error(proc.tail());
          })()),
    BOOT_MS,
    () => `the kube emulator\n${proc.tail()}`,
  );
  const url = String(line['url']);
  const get = async <T>(path: string): Promise<T | undefined> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  return {
    proc,
    url,
    kubeconfig: writeKubeconfig(url),
    get,
    list: async (path) => (await get<{ items: [] }>(path))?.items ?? [],
    async post(path, body) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    },
  };
}

/** A private redis-server on a free loopback port, which can be stopped and started again on it. */
export interface RedisProcess {
  readonly url: string;
  readonly port: number;
  readonly proc: Proc;
  /** SIGTERM (without persistence, everything is gone); `start` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
}

/**
 * `appendonly`: with an append-only file in a temporary directory (fsync every second), a restart
 * keeps the data, as a production Redis for BullMQ is configured; without it a restart empties it.
 */
export async function startRedisProcess(opts: { appendonly?: boolean } = {}): Promise<RedisProcess> {
  let port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), 'lp-redis-'));
  const args = () => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--dir',
    dir,
    '--appendonly',
    opts.appendonly === true ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
  ];
  let proc: Proc;
  const start = async (): Promise<void> => {
    proc = spawnProc('redis', 'redis-server', args(), {});
    await until(
      () =>
        proc.logs.some((l) => String(l['msg']).includes('Ready to accept connections')) ||
        (proc.running
          ? undefined
          : (() => {
              throw new Error(proc.tail());
            })()),
      10_000,
      () => `redis-server\n${proc.tail()}`,
    );
  };
  // The free port found is closed again before redis-server binds it: on a busy machine another
  // process's outgoing connection can take it in between (seen once in CI). The first start tries
  // another free port then; a restart must keep its port, as a restarted Redis does.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('Address already in use')) throw err;
      port = await closedPort();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get proc() {
      return proc;
    },
    async stop() {
      await proc.stop();
    },
    start,
  };
}

/** Environment of a service process (API or worker) outside dev mode against `kube` and `redisUrl`. */
export interface ServiceEnv {
  readonly kubeconfig: string;
  readonly redisUrl: string;
  readonly directory: string;
  readonly audience: string;
  /** Where the Azure AD signing keys are (a local JWKS); unset for processes that serve no requests. */
  readonly jwksUri?: string;
  readonly extra?: Record<string, string>;
}

function serviceEnv(e: ServiceEnv): Record<string, string> {
  return {
    KUBECONFIG: e.kubeconfig,
    REDIS_URL: e.redisUrl,
    AUTH_TENANT_IDS: e.directory,
    AUTH_AUDIENCES: e.audience,
    ...(e.jwksUri === undefined ? {} : { AUTH_JWKS_URI: e.jwksUri }),
    EMBEDDED_WORKER: 'false',
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    PORT: '0',
    // Start-up on a busy machine stalls the event loop for seconds: no load shedding here.
    MAX_EVENT_LOOP_DELAY_MS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
    SHUTDOWN_GRACE_MS: '1000',
    ...e.extra,
  };
}

/** Starts the API (test/support/service-main.ts api) and resolves with it and its URL once it listens. */
export async function startApiProcess(e: ServiceEnv): Promise<{ proc: Proc; url: string }> {
  const proc = spawnNode('api', 'test/support/service-main.ts', serviceEnv(e), ['api']);
  const url = await until(
    () => {
      if (!proc.running) throw new Error(proc.tail());
      const line = proc.logs.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('labplane is listening on '));
      return line === undefined ? undefined : String(line['msg']).slice('labplane is listening on '.length).trim();
    },
    BOOT_MS,
    () => `the API to listen\n${proc.tail()}`,
  );
  return { proc, url };
}

/** Starts a worker: test/support/service-main.ts (or `src/main/worker.ts` as `entry`), POD_NAME `name`. */
export function spawnWorker(name: string, e: ServiceEnv, entry = 'test/support/service-main.ts'): Proc {
  return spawnNode(name, entry, { POD_NAME: name, ...serviceEnv(e) }, entry.endsWith('service-main.ts') ? ['worker'] : []);
}

/** {@link spawnWorker}, resolved once it logged `worker started`. */
export async function startWorkerProcess(name: string, e: ServiceEnv, entry?: string): Promise<Proc> {
  const proc = spawnWorker(name, e, entry);
  await until(
    () =>
      proc.logged('worker started') ||
      (proc.running
        ? undefined
        : (() => {
            throw new Error(proc.tail());
          })()),
    BOOT_MS,
    () => `${name} to start\n${proc.tail()}`,
  );
  return proc;
}
