import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { defaultSchemasDir } from '../adapters/sim/kube-emulator/package-paths.js';
import { readAuth, readAzure, type AuthConfig, type AzureConfig } from './config-identity.js';
import { bool, CIDR, ConfigError, int, list, read, type Env } from './config-read.js';
import { readLti, type LtiConfig } from './config-lti.js';
import { readUsage, type UsageConfig } from './config-usage.js';

export { ConfigError } from './config-read.js';
export type { AuthConfig, AzureConfig } from './config-identity.js';
export type { LtiConfig } from './config-lti.js';
export type { UsageConfig } from './config-usage.js';

/**
 * Every setting of the service, read once at start from the environment. `loadConfig` throws
 * `ConfigError` naming the first bad setting; `server.ts` prints it on one line and exits.
 */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Dev mode: /dev/token exists, GraphiQL is on. Only with the simulated cluster. */
  readonly devMode: boolean;
  readonly devTokenSecret: string | undefined;
  readonly publicUrl: string | undefined;
  /** CSP `frame-ancestors` of the LTI pages (LTI_FRAME_ANCESTORS): who may frame them (the LMS). Default `*`. */
  readonly ltiFrameAncestors: string;
  readonly kube:
    | { readonly mode: 'simulated'; readonly schemasDir: string }
    | { readonly mode: 'kubeconfig'; readonly path: string }
    | { readonly mode: 'in-cluster' };
  /**
   * The control plane's own namespace (CONTROL_NAMESPACE): webhook Secrets and the leader Lease
   * live there; the only namespace where it may read Secrets. Default: in the cluster the pod's namespace (from its
   * service account mount), otherwise `labplane-system`.
   */
  readonly controlNamespace: string;
  readonly kubeQps: number;
  readonly kubeBurst: number;
  readonly kubeTimeoutMs: number;
  readonly clusterPrivateCidrs: readonly string[];
  readonly redisUrl: string | undefined;
  readonly azure: AzureConfig;
  /** How long `vm.identity` waits for a VM's Arc machine to connect, ms (ARC_CONNECT_TIMEOUT_MS, default 20 minutes). */
  readonly arcConnectTimeoutMs: number;
  readonly workerConcurrency: number;
  /** Run job workers inside the API process (the embedded default). */
  readonly embeddedWorker: boolean;
  readonly operationRetentionDays: number;
  readonly corsOrigins: readonly string[];
  readonly bodyLimitBytes: number;
  readonly shutdownGraceMs: number;
  readonly maxEventLoopDelayMs: number;
  /** Azure AD (Entra ID) sign-in; required outside dev mode. */
  readonly auth: AuthConfig | undefined;
  /** Requests per minute per principal (or per IP before authentication). */
  readonly rateLimitPerMinute: number;
  /** The queue dashboard may retry, clean, promote, remove and pause (QUEUE_DASHBOARD_WRITE, default false: read-only). */
  readonly queueDashboardWrite: boolean;
  readonly images: ImagesConfig;
  readonly webhooks: WebhooksConfig;
  readonly labs: LabsConfig;
  readonly lti: LtiConfig;
  readonly leader: LeaderConfig;
  /** Between passes re-enqueuing the jobs of open operations that went missing, on the leader, ms (RECOVERY_INTERVAL_MS, default 60 000). */
  readonly recoveryIntervalMs: number;
  /** Between passes of the janitors (staged cloud-init, orphaned Arc machines), ms (JANITOR_INTERVAL_MS, default 10 minutes). */
  readonly janitorIntervalMs: number;
  /** Where VM usage (KubeVirt's metrics) is read from: Prometheus (PROMETHEUS_*), or off. */
  readonly usage: UsageConfig;
  /** Between passes of the idle detector (auto-shutdown and quota enforcement of running VMs), on the leader, ms (IDLE_CHECK_INTERVAL_MS, default 60 000). */
  readonly idleCheckIntervalMs: number;
  /** Between passes of the usage meter (VM run times for lab quotas and usage reports), ms (USAGE_METER_INTERVAL_MS, default 60 000). */
  readonly usageMeterIntervalMs: number;
  readonly snapshots: SnapshotsConfig;
  readonly consoles: ConsolesConfig;
}

/** Browser consoles of VMs (VNC and serial through the API). */
export interface ConsolesConfig {
  /** Open consoles one tenant may have at once (CONSOLES_PER_TENANT, default 20). */
  readonly perTenant: number;
  /** Open consoles one VM may have at once (CONSOLES_PER_VM, default 2). */
  readonly perVm: number;
  /** A console with no bytes either way for this long is closed, ms (CONSOLE_IDLE_TIMEOUT_MS, default 15 minutes). */
  readonly idleTimeoutMs: number;
  /** A console is closed after this long whatever happens, ms (CONSOLE_MAX_SESSION_MS, default 4 hours). */
  readonly maxSessionMs: number;
}

/** VM snapshots. */
export interface SnapshotsConfig {
  /** Snapshots one VM may have (SNAPSHOTS_PER_VM, default 10). */
  readonly perVm: number;
  /** Snapshots one tenant may have (SNAPSHOTS_PER_TENANT, default 100). */
  readonly perTenant: number;
  /** How long the answer to "can this cluster snapshot VMs?" is kept, ms (SNAPSHOT_SUPPORT_CACHE_MS, default 30 000; 0: asked every time). */
  readonly supportCacheMs: number;
}

/** Leader election among the replicas running job workers: only the leader runs the loops. */
export interface LeaderConfig {
  /** Name of the Lease in the control namespace. */
  readonly leaseName: string;
  /** LEADER_LEASE_MS (default 15 000): how long others wait before taking over a lease not renewed. */
  readonly leaseMs: number;
  /** LEADER_RENEW_MS (default 10 000): the leader steps down after failing to renew for this long. */
  readonly renewMs: number;
  /** LEADER_RETRY_MS (default 2 000): between attempts to acquire or renew. */
  readonly retryMs: number;
  /** POD_NAME (Downward API): the start of the holder identity; the host name when unset. */
  readonly podName: string | undefined;
}

export interface LabsConfig {
  /** Students one lab operation works on at once (LAB_PARALLELISM, default 50). */
  readonly parallelism: number;
  /** Between passes of the lab scheduler and housekeeping, ms (LAB_TICK_MS, default 30 000). */
  readonly tickMs: number;
  /**
   * Age after which a schedule claim another scheduler left without an operation (it died) is
   * applied again, ms (LAB_SCHEDULE_CLAIM_TIMEOUT_MS, default 120 000).
   */
  readonly claimTimeoutMs: number;
  /** Age of a bound lab's last LMS roster sync after which it is synced again, hours (LTI_ROSTER_SYNC_HOURS, default 24). */
  readonly ltiRosterSyncHours: number;
}

/** Tenant webhooks. */
export interface WebhooksConfig {
  /** Admin allow-list of hosts for which plain http webhook URLs are accepted (WEBHOOK_HTTP_ALLOWED_HOSTS). */
  readonly httpAllowedHosts: readonly string[];
  /**
   * Simulated cluster only (SIM_WEBHOOK_ROUTES, `host=http://127.0.0.1:port,...`): deliveries to
   * `host` reach a receiver on this machine through the simulated network.
   */
  readonly simRoutes: readonly { readonly host: string; readonly target: string }[];
  /**
   * How long the process that finished an operation has to record its webhook deliveries before
   * the leader's outbox drain does it instead, ms (WEBHOOK_OUTBOX_GRACE_MS, default 10 000).
   */
  readonly outboxGraceMs: number;
  /**
   * How long a receiver may fail continuously (no attempt succeeded since the first failure) before
   * its webhook is disabled, ms (WEBHOOK_DISABLE_AFTER_HOURS, default 72 hours).
   */
  readonly disableAfterMs: number;
  /** How long a rotated-out signing secret still signs deliveries beside the new one, ms (WEBHOOK_SECRET_OVERLAP_HOURS, default 24 hours). */
  readonly secretOverlapMs: number;
}

/** Image imports. */
export interface ImagesConfig {
  /** Admin allow-list of hosts for which plain http imports are accepted (IMAGE_HTTP_ALLOWED_HOSTS). */
  readonly httpAllowedHosts: readonly string[];
  /** Endpoint of s3:// imports, an origin (IMAGE_S3_ENDPOINT); default https://s3.amazonaws.com. */
  readonly s3Endpoint: string | undefined;
  /** How often an import operation looks at the DataVolume's progress, ms (IMAGE_IMPORT_POLL_MS). */
  readonly importPollMs: number;
  /** Simulated cluster only: how long an import takes (SIM_IMPORT_DURATION_MS). */
  readonly simImportDurationMs: number;
}

/** A CSP source list: `*`, 'self', 'none', schemes and origins (wildcard subdomains, ports), separated by spaces. */
const FRAME_ANCESTORS =
  /^\s*(?:(?:\*|'self'|'none'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*:\/\/)?(?:\*\.)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::(?:\d{1,5}|\*))?)(?:\s+|\s*$))+$/;

export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const kube = readKube(env, cwd);
  const simulated = kube.mode === 'simulated';
  const devMode = read(env, 'DEV_MODE', bool, 'true or false') ?? simulated;
  if (devMode && !simulated) {
    throw new ConfigError('DEV_MODE', 'false (or unset) when a real cluster is configured: dev tokens are for the embedded default only');
  }
  const redisUrl = read(env, 'REDIS_URL', z.string().regex(/^rediss?:\/\/\S+$/), 'a redis:// or rediss:// URL');
  if (!simulated && redisUrl === undefined) {
    throw new ConfigError('REDIS_URL', 'a redis:// URL: a real cluster needs durable jobs, there is no in-memory fallback');
  }
  const cidrs = list(env, 'CLUSTER_PRIVATE_CIDRS');
  const badCidr = cidrs.find((c) => !CIDR.test(c));
  if (badCidr !== undefined) throw new ConfigError('CLUSTER_PRIVATE_CIDRS', `comma-separated CIDRs, got '${badCidr}'`);
  const origins = list(env, 'CORS_ORIGINS');
  const badOrigin = origins.find((o) => !/^https?:\/\/[^/\s]+$/.test(o));
  if (badOrigin !== undefined) throw new ConfigError('CORS_ORIGINS', `comma-separated origins like https://portal.example.edu, got '${badOrigin}'`);
  const secret = read(env, 'DEV_TOKEN_SECRET', z.string().min(32), 'at least 32 characters');
  return {
    host: read(env, 'HOST', z.string().min(1), 'a host name or address') ?? '127.0.0.1',
    port: read(env, 'PORT', int(0, 65535), 'a port number 0-65535') ?? 8080,
    logLevel:
      read(
        env,
        'LOG_LEVEL',
        z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
        'one of fatal, error, warn, info, debug, trace, silent',
      ) ?? 'info',
    devMode,
    devTokenSecret: secret,
    publicUrl: read(env, 'PUBLIC_URL', z.string().regex(/^https?:\/\/\S+$/), 'an http(s) URL'),
    ltiFrameAncestors:
      read(
        env,
        'LTI_FRAME_ANCESTORS',
        z.string().regex(FRAME_ANCESTORS),
        "CSP sources separated by spaces: *, 'self', 'none', a scheme (https:) or an origin (https://*.instructure.com)",
      ) ?? '*',
    kube,
    controlNamespace: readControlNamespace(env, kube),
    kubeQps: read(env, 'KUBE_QPS', int(1, 10000), 'an integer 1-10000') ?? 50,
    kubeBurst: read(env, 'KUBE_BURST', int(1, 10000), 'an integer 1-10000') ?? 100,
    kubeTimeoutMs: read(env, 'KUBE_TIMEOUT_MS', int(100, 300000), 'milliseconds 100-300000') ?? 10000,
    clusterPrivateCidrs: cidrs,
    redisUrl,
    azure: readAzure(env),
    arcConnectTimeoutMs: read(env, 'ARC_CONNECT_TIMEOUT_MS', int(1000, 24 * 3600_000), 'milliseconds 1000-86400000') ?? 20 * 60_000,
    workerConcurrency: read(env, 'WORKER_CONCURRENCY', int(1, 256), 'an integer 1-256') ?? 8,
    embeddedWorker: read(env, 'EMBEDDED_WORKER', bool, 'true or false') ?? simulated,
    operationRetentionDays: read(env, 'OPERATION_RETENTION_DAYS', int(7, 3650), 'whole days, at least 7') ?? 7,
    corsOrigins: origins,
    bodyLimitBytes: read(env, 'BODY_LIMIT_BYTES', int(1024, 50 * 1024 * 1024), 'bytes 1024-52428800') ?? 1024 * 1024,
    shutdownGraceMs: read(env, 'SHUTDOWN_GRACE_MS', int(0, 600000), 'milliseconds 0-600000') ?? 10000,
    maxEventLoopDelayMs: read(env, 'MAX_EVENT_LOOP_DELAY_MS', int(0, 60000), 'milliseconds 0-60000 (0 = off)') ?? 1000,
    auth: readAuth(env, devMode),
    // Up to a million a second: the benchmarks keep the limiter on but never binding, and one caller of a
    // fast 2-core machine passed 1,000,000 a minute (16,667/s) on a cached read.
    rateLimitPerMinute: read(env, 'RATE_LIMIT_PER_MINUTE', int(1, 60_000_000), 'requests per minute, 1 to 60000000') ?? 600,
    queueDashboardWrite: read(env, 'QUEUE_DASHBOARD_WRITE', bool, 'true or false') ?? false,
    images: readImages(env),
    webhooks: readWebhooks(env, simulated),
    labs: {
      parallelism: read(env, 'LAB_PARALLELISM', int(1, 1000), 'an integer 1-1000') ?? 50,
      tickMs: read(env, 'LAB_TICK_MS', int(100, 3_600_000), 'milliseconds 100-3600000') ?? 30_000,
      claimTimeoutMs: read(env, 'LAB_SCHEDULE_CLAIM_TIMEOUT_MS', int(1_000, 86_400_000), 'milliseconds 1000-86400000') ?? 120_000,
      ltiRosterSyncHours: read(env, 'LTI_ROSTER_SYNC_HOURS', int(1, 24 * 365), 'hours 1-8760') ?? 24,
    },
    lti: readLti(env, simulated),
    leader: readLeader(env),
    recoveryIntervalMs: read(env, 'RECOVERY_INTERVAL_MS', int(1000, 86_400_000), 'milliseconds 1000-86400000') ?? 60_000,
    janitorIntervalMs: read(env, 'JANITOR_INTERVAL_MS', int(1000, 86_400_000), 'milliseconds 1000-86400000') ?? 10 * 60_000,
    usage: readUsage(env),
    idleCheckIntervalMs: read(env, 'IDLE_CHECK_INTERVAL_MS', int(1000, 3_600_000), 'milliseconds 1000-3600000') ?? 60_000,
    usageMeterIntervalMs: read(env, 'USAGE_METER_INTERVAL_MS', int(1000, 3_600_000), 'milliseconds 1000-3600000') ?? 60_000,
    snapshots: {
      perVm: read(env, 'SNAPSHOTS_PER_VM', int(1, 1000), 'an integer 1-1000') ?? 10,
      perTenant: read(env, 'SNAPSHOTS_PER_TENANT', int(1, 100_000), 'an integer 1-100000') ?? 100,
      supportCacheMs: read(env, 'SNAPSHOT_SUPPORT_CACHE_MS', int(0, 3_600_000), 'milliseconds 0-3600000') ?? 30_000,
    },
    consoles: {
      perTenant: read(env, 'CONSOLES_PER_TENANT', int(1, 10_000), 'an integer 1-10000') ?? 20,
      perVm: read(env, 'CONSOLES_PER_VM', int(1, 100), 'an integer 1-100') ?? 2,
      idleTimeoutMs: read(env, 'CONSOLE_IDLE_TIMEOUT_MS', int(1000, 86_400_000), 'milliseconds 1000-86400000') ?? 15 * 60_000,
      maxSessionMs: read(env, 'CONSOLE_MAX_SESSION_MS', int(1000, 7 * 86_400_000), 'milliseconds 1000-604800000') ?? 4 * 3_600_000,
    },
  };
}

function readLeader(env: Env): LeaderConfig {
  const leaseMs = read(env, 'LEADER_LEASE_MS', int(1000, 600_000), 'milliseconds 1000-600000') ?? 15_000;
  const renewMs = read(env, 'LEADER_RENEW_MS', int(500, 600_000), 'milliseconds 500-600000') ?? 10_000;
  const retryMs = read(env, 'LEADER_RETRY_MS', int(100, 600_000), 'milliseconds 100-600000') ?? 2_000;
  // client-go's rules: leaseDuration > renewDeadline > 1.2 × retryPeriod (its jitter factor).
  if (renewMs >= leaseMs)
    throw new ConfigError(
      'LEADER_RENEW_MS',
      `less than LEADER_LEASE_MS (${leaseMs}): the leader must step down before another replica may take over`,
    );
  if (renewMs <= 1.2 * retryMs)
    throw new ConfigError(
      'LEADER_RETRY_MS',
      `less than LEADER_RENEW_MS / 1.2 (${Math.floor(renewMs / 1.2)}): the leader must get several attempts to renew`,
    );
  const podName = env['POD_NAME'];
  return {
    leaseName: 'labplane-loops',
    leaseMs,
    renewMs,
    retryMs,
    podName: podName === undefined || podName.trim() === '' ? undefined : podName.trim(),
  };
}

function readKube(env: Env, cwd: string): Config['kube'] {
  const mode =
    read(env, 'KUBE_MODE', z.enum(['auto', 'simulated', 'kubeconfig', 'in-cluster']), 'one of auto, simulated, kubeconfig, in-cluster') ?? 'auto';
  const kubeconfig = env['KUBECONFIG']?.split(':')[0];
  const inCluster = env['KUBERNETES_SERVICE_HOST'] !== undefined && env['KUBERNETES_SERVICE_HOST'] !== '';
  if (mode === 'kubeconfig' || (mode === 'auto' && kubeconfig !== undefined && kubeconfig !== '')) {
    if (kubeconfig === undefined || kubeconfig === '') throw new ConfigError('KUBECONFIG', 'the path of a kubeconfig file (KUBE_MODE=kubeconfig)');
    const path = resolve(cwd, kubeconfig);
    if (!existsSync(path)) throw new ConfigError('KUBECONFIG', `an existing kubeconfig file, '${path}' does not exist`);
    return { mode: 'kubeconfig', path };
  }
  if (mode === 'in-cluster' || (mode === 'auto' && inCluster)) {
    if (!inCluster) throw new ConfigError('KUBERNETES_SERVICE_HOST', 'to be set by Kubernetes when KUBE_MODE=in-cluster');
    return { mode: 'in-cluster' };
  }
  const given = env['SCHEMAS_DIR'];
  const schemasDir = given === undefined || given === '' ? defaultSchemasDir() : resolve(cwd, given);
  if (!['kubevirt-openapi-v2.json', 'cdi-openapi-v2.json'].every((f) => existsSync(resolve(schemasDir, f)))) {
    throw new ConfigError(
      'SCHEMAS_DIR',
      `a folder holding kubevirt-openapi-v2.json and cdi-openapi-v2.json for the simulated cluster, '${schemasDir}' has not both (unset it to use the repository's schemas/)`,
    );
  }
  return { mode: 'simulated', schemasDir };
}

/** Where Kubernetes mounts the pod's namespace with its service account token. */
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function readControlNamespace(env: Env, kube: Config['kube']): string {
  const given = read(env, 'CONTROL_NAMESPACE', z.string().regex(DNS_LABEL), 'a namespace name (a DNS label)');
  if (given !== undefined) return given;
  if (kube.mode === 'in-cluster') {
    try {
      const ns = readFileSync(SERVICE_ACCOUNT_NAMESPACE_FILE, 'utf8').trim();
      if (DNS_LABEL.test(ns)) return ns;
    } catch {
      // No service account mount (automountServiceAccountToken: false): the documented default.
    }
  }
  return 'labplane-system';
}

function readImages(env: Env): ImagesConfig {
  const hosts = list(env, 'IMAGE_HTTP_ALLOWED_HOSTS').map((h) => h.toLowerCase());
  const badHost = hosts.find((h) => !/^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(h));
  if (badHost !== undefined) throw new ConfigError('IMAGE_HTTP_ALLOWED_HOSTS', `comma-separated host names or IP literals, got '${badHost}'`);
  return {
    httpAllowedHosts: hosts,
    s3Endpoint: read(
      env,
      'IMAGE_S3_ENDPOINT',
      z.string().regex(/^https?:\/\/[^/\s]+\/?$/),
      'an http(s) origin such as https://minio.example.edu:9000',
    ),
    importPollMs: read(env, 'IMAGE_IMPORT_POLL_MS', int(10, 60000), 'milliseconds 10-60000') ?? 2000,
    simImportDurationMs: read(env, 'SIM_IMPORT_DURATION_MS', int(0, 3600000), 'milliseconds 0-3600000') ?? 5000,
  };
}

const HOST_ENTRY = /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/;

function readWebhooks(env: Env, simulated: boolean): WebhooksConfig {
  const hosts = list(env, 'WEBHOOK_HTTP_ALLOWED_HOSTS').map((h) => h.toLowerCase());
  const badHost = hosts.find((h) => !HOST_ENTRY.test(h));
  if (badHost !== undefined) throw new ConfigError('WEBHOOK_HTTP_ALLOWED_HOSTS', `comma-separated host names or IP literals, got '${badHost}'`);
  const entries = list(env, 'SIM_WEBHOOK_ROUTES');
  if (entries.length > 0 && !simulated) {
    throw new ConfigError('SIM_WEBHOOK_ROUTES', 'to be unset with a real cluster: the simulated network exists in the embedded default only');
  }
  const simRoutes = entries.map((entry) => {
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+)=(http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d{1,5})\/?$/i.exec(
      entry,
    );
    if (m === null) throw new ConfigError('SIM_WEBHOOK_ROUTES', `comma-separated host=http://127.0.0.1:port entries, got '${entry.slice(0, 80)}'`);
    return { host: (m[1] ?? '').toLowerCase(), target: m[5] ?? '' };
  });
  const outboxGraceMs = read(env, 'WEBHOOK_OUTBOX_GRACE_MS', int(100, 3_600_000), 'milliseconds 100-3600000') ?? 10_000;
  const disableAfterHours = read(env, 'WEBHOOK_DISABLE_AFTER_HOURS', int(1, 8_760), 'hours 1-8760') ?? 72;
  const overlapHours = read(env, 'WEBHOOK_SECRET_OVERLAP_HOURS', int(0, 168), 'hours 0-168') ?? 24;
  return {
    httpAllowedHosts: hosts,
    simRoutes,
    outboxGraceMs,
    disableAfterMs: disableAfterHours * 3_600_000,
    secretOverlapMs: overlapHours * 3_600_000,
  };
}
