import type { AccessOptions } from './access.js';
import type { FaultInjector } from './faults.js';
import type { RecordedRequests } from './request-info.js';
import type { GuestAgentControl } from './guest-agent.js';
import type { ConsoleControl } from './consoles.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';
import type { VmActionRegistry } from './vm-actions.js';

/**
 * Simulated cluster behaviour plugged into the emulator (DataVolume import progress, VM phases,
 * migrations). Controllers work through `emulator.store` (subscribe, get, create, update, delete) and
 * `emulator.vmActions`; they must not block and must release timers and subscriptions in `stop`.
 */
export interface Controller {
  /** Called once the server listens. */
  start(emulator: KubeEmulator): void;
  /** Called by `close()`, before the server stops. */
  stop(): void;
}

/** Options of {@link startKubeEmulator}. */
export interface KubeEmulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; default `127.0.0.1`. */
  host?: string;
  /** Directory of `kubevirt-openapi-v2.json` and `cdi-openapi-v2.json`; default the repository's vendored `schemas/` (a relative path is taken from the working directory). */
  schemasDir?: string;
  /** Directory of the CustomResourceDefinitions labplane owns (Lab); default `deploy/crds` of this package, wherever the working directory is. */
  crdsDir?: string;
  /** Number of seeded Node objects (`aks-kubevirt-0000`, ...); default 3. */
  seedNodes?: number;
  /** Controllers to start; none by default. */
  controllers?: Controller[];
  /** Watch events kept per resource for resumption; older resourceVersions answer 410 Expired. Default 1000. */
  watchHistorySize?: number;
  /** Period of BOOKMARK events on watches with `allowWatchBookmarks=true`; default 60000 ms. */
  bookmarkIntervalMs?: number;
  /** How long a deleted namespace stays Terminating before it and its contents disappear; default 200 ms. */
  namespaceDeletionDelayMs?: number;
  /** Store keys (`labs.labplane.io`, ...) not served until {@link KubeEmulator.installResource}: as a cluster without that CRD. */
  uninstalledResources?: string[];
  /** Authentication (a bearer token) and denied resources (RBAC 403s); none by default. */
  access?: AccessOptions;
  /** Namespaces to create at start besides the system ones (the control plane's own). */
  namespaces?: readonly string[];
  /** Keep every request, classified as the API server's RequestInfo (verb, group, resource, ...), for {@link KubeEmulator.recordedRequests}; default off. */
  recordRequests?: boolean;
}

/** Filter for {@link KubeEmulator.requestCount}. */
export interface RequestFilter {
  /** HTTP method, case-insensitive. */
  method?: string;
  /** Prefix of the URL path (no query). */
  pathPrefix?: string;
}

/** A running in-process Kubernetes API server emulator. */
export interface KubeEmulator {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly faults: FaultInjector;
  /** Direct object access bypassing HTTP (no validation or quota), still bumping resourceVersion and notifying watchers. */
  readonly store: ObjectStore;
  /** KubeVirt VM action handlers (`start`/`stop`/`restart`/`migrate`) and the calls received. */
  readonly vmActions: VmActionRegistry;
  /** Simulated QEMU guest agents: logins the `userlist` subresource reports, agent (dis)connection. */
  readonly guestAgents: GuestAgentControl;
  /** The VMIs' serial consoles and VNC displays (websocket subresources `console` and `vnc`): guest output, open connections. */
  readonly consoles: ConsoleControl;
  /** HTTP requests served so far (including failed and fault-injected ones). */
  requestCount(filter?: RequestFilter): number;
  /** The requests received so far in RBAC terms (empty unless started with `recordRequests`). */
  recordedRequests(): RecordedRequests;
  /**
   * Quota admission for a write a controller is about to make through the store: throws the 403
   * Forbidden `KubeStatusError` a real server would answer (`resource` is a store key).
   */
  checkQuota(resource: string, obj: KubeObject): void;
  /** Starts serving a resource left out by `uninstalledResources` (its CRD got installed). */
  installResource(key: string): void;
  /** Stops serving a resource (404, left out of discovery), as a cluster whose CRD was removed; its objects stay in the store. */
  uninstallResource(key: string): void;
  /** Stops controllers, drops open watches and closes the server. */
  close(): Promise<void>;
}
