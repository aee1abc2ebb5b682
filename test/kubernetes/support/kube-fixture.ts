import { loadKubeConfig } from '../../../src/adapters/kubernetes/kube-config.js';
import { createKubeClient, type KubeClient, type KubeClientDeps, type KubeLogger } from '../../../src/adapters/kubernetes/kube-client.js';
import {
  createKubeTenantRepository,
  type KubeTenantRepository,
  type KubeTenantRepositoryDeps,
} from '../../../src/adapters/kubernetes/tenant-repository.js';
import { startKubeEmulator, type KubeEmulator, type KubeEmulatorOptions } from '../../../src/adapters/sim/kube-emulator/index.js';

/** A logger that keeps what it was told, for assertions and quiet test output. */
export function recordingLogger(): KubeLogger & { lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) => void lines.push({ level, msg, obj });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A client of the emulator at `url`, as the composition root builds one. */
export function emulatorClient(
  url: string,
  logger: KubeLogger = recordingLogger(),
  options: Partial<Omit<KubeClientDeps, 'kubeConfig' | 'logger'>> = {},
): KubeClient {
  return createKubeClient({ kubeConfig: loadKubeConfig({ server: url }), logger, ...options });
}

/** Plain HTTP access to the emulator, standing for another client of the cluster. */
export interface RawClient {
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  put(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  delete(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
}

export function rawClient(url: string): RawClient {
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
  };
  return {
    get: (p) => send('GET', p),
    post: (p, b) => send('POST', p, b),
    put: (p, b) => send('PUT', p, b),
    delete: (p) => send('DELETE', p),
  };
}

export interface KubeFixture {
  readonly emulator: KubeEmulator;
  readonly repo: KubeTenantRepository;
  readonly raw: RawClient;
  readonly logger: ReturnType<typeof recordingLogger>;
  close(): Promise<void>;
}

/** An emulator and a started Kubernetes tenant repository pointed at it. */
export async function startKubeFixture(
  options: Partial<Omit<KubeTenantRepositoryDeps, 'client'>> & Partial<Omit<KubeClientDeps, 'kubeConfig' | 'logger'>> = {},
  emulatorOptions: KubeEmulatorOptions = {},
): Promise<KubeFixture> {
  const emulator = await startKubeEmulator(emulatorOptions);
  const logger = recordingLogger();
  const { clusterPrivateCidrs, syncTimeoutMs, watchRestartDelayMs, ...clientOptions } = options;
  const repo = createKubeTenantRepository({
    client: emulatorClient(emulator.url, logger, clientOptions),
    watchRestartDelayMs: watchRestartDelayMs ?? { min: 20, max: 200 },
    ...(clusterPrivateCidrs === undefined ? {} : { clusterPrivateCidrs }),
    ...(syncTimeoutMs === undefined ? {} : { syncTimeoutMs }),
  });
  const synced = await repo.start();
  if (!synced) throw new Error(`informers did not sync against the emulator: ${JSON.stringify(logger.lines)}`);
  return {
    emulator,
    repo,
    raw: rawClient(emulator.url),
    logger,
    async close() {
      await repo.close();
      await emulator.close();
    },
  };
}

/** Request count of the emulator excluding watches that the informers hold open. */
export function requests(emulator: KubeEmulator, method?: string): number {
  return emulator.requestCount(method === undefined ? {} : { method });
}
