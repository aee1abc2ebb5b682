import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startArmStandIn, type ArmStandIn } from '../support/arm-stand-in.js';
import {
  startApiProcess,
  startKubeProcess,
  startRedisProcess,
  startWorkerProcess,
  until,
  type KubeProcess,
  type Proc,
  type RedisProcess,
  type ServiceEnv,
} from '../support/processes.js';
import { AUDIENCE, DIRECTORY, startAzureAdStub, type AzureAdStub } from '../startup/support.js';

/** The host deliveries are addressed to; the simulated network carries them to the local receiver. */
export const HOOK_HOST = 'lms.example.edu';

/** A webhook receiver on loopback that answers 204, or holds requests open while `holding`. */
export interface HoldingReceiver {
  readonly origin: string;
  readonly received: Array<{ headers: IncomingMessage['headers']; body: string }>;
  holding: boolean;
  close(): Promise<void>;
}

export async function startHoldingReceiver(): Promise<HoldingReceiver> {
  const held: ServerResponse[] = [];
  const state = { holding: false };
  const received: HoldingReceiver['received'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      if (state.holding) held.push(res);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    get holding() {
      return state.holding;
    },
    set holding(v: boolean) {
      state.holding = v;
    },
    close: async () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * One deployment in processes on loopback: the Kubernetes API emulator (its own process), a private
 * redis-server, the ARM stand-in with the VMs' Arc agents, a JWKS for Azure AD tokens, a webhook
 * receiver, the API process and worker processes (which come and go).
 */
export interface Deployment {
  readonly kube: KubeProcess;
  readonly redis: RedisProcess;
  readonly arm: ArmStandIn;
  readonly aad: AzureAdStub;
  readonly receiver: HoldingReceiver;
  readonly api: { proc: Proc; url: string };
  readonly workers: Proc[];
  readonly env: ServiceEnv;
  /** Starts one more worker (POD_NAME worker-<n>) and resolves once it runs jobs. */
  startWorker(): Promise<Proc>;
  /** A bearer token of a platform admin. */
  admin(): Promise<string>;
  /** `fetch` against the API with a token; JSON body in and out. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Polls an operation until it is final (succeeded, failed, canceled). */
  settle(id: string, timeoutMs: number): Promise<Record<string, any>>;
  diagnose(): string;
  close(): Promise<void>;
}

export async function startDeployment(
  opts: { redisAppendOnly?: boolean; workerEnv?: Record<string, string>; env?: Record<string, string> } = {},
): Promise<Deployment> {
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const [kube, redis, arm, aad, receiver] = await Promise.all([
      startKubeProcess(),
      startRedisProcess({ appendonly: opts.redisAppendOnly === true }),
      startArmStandIn(),
      startAzureAdStub(),
      startHoldingReceiver(),
    ]);
    closers.push(
      () => kube.proc.stop(),
      () => redis.stop(),
      () => arm.close(),
      () => aad.close(),
      () => receiver.close(),
    );
    arm.playVms(kube.url);
    const env: ServiceEnv = {
      kubeconfig: kube.kubeconfig,
      redisUrl: redis.url,
      directory: DIRECTORY,
      audience: AUDIENCE,
      jwksUri: aad.jwksUri,
      extra: { ...arm.env, FAULTS_WEBHOOK_ROUTES: `${HOOK_HOST}=${receiver.origin}`, FAULTS_QUEUE_LOCK_MS: '3000', ...opts.env },
    };
    const workerEnv: ServiceEnv = {
      ...env,
      extra: {
        ...env.extra,
        LEADER_LEASE_MS: '3000',
        LEADER_RENEW_MS: '2000',
        LEADER_RETRY_MS: '500',
        RECOVERY_INTERVAL_MS: '2000',
        LAB_TICK_MS: '1000',
        WORKER_CONCURRENCY: '16',
        ...opts.workerEnv,
      },
    };
    const workers: Proc[] = [];
    closers.push(async () => {
      for (const w of workers) await w.kill9();
    });
    const startWorker = async () => {
      const w = await startWorkerProcess(`worker-${workers.length + 1}`, workerEnv);
      workers.push(w);
      return w;
    };
    const [api] = await Promise.all([startApiProcess(env), startWorker()]);
    closers.push(() => api.proc.stop());
    let token: string | undefined;
    const admin = async () =>
      (token ??= await aad.token({
        oid: 'aaaaaaaa-0000-4000-8000-0000000000ad',
        sub: 'fault-admin',
        name: 'Fault Admin',
        roles: ['LabPlane.Admin'],
      }));
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${api.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${await admin()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
    };
    const diagnose = () => [kube.proc, api.proc, ...workers].map((p) => p.tail(6)).join('\n');
    return {
      kube,
      redis,
      arm,
      aad,
      receiver,
      api,
      workers,
      env: workerEnv,
      startWorker,
      admin,
      call,
      async settle(id, timeoutMs) {
        return until(
          async () => {
            const res = await call('GET', `/v1/operations/${id}`).catch(() => undefined);
            return ['succeeded', 'failed', 'canceled'].includes(res?.body?.status) ? (res?.body as Record<string, any>) : undefined;
          },
          timeoutMs,
          () => `operation ${id} to end\n${diagnose()}`,
        );
      },
      diagnose,
      async close() {
        for (const c of closers.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
