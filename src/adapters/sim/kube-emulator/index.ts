import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { KubeEmulator, KubeEmulatorOptions, RequestFilter } from './emulator-types.js';
import { AccessControl } from './access.js';
import { FaultState } from './faults.js';
import { Lifecycle } from './lifecycle.js';
import { checkQuota, startQuotaController } from './quota.js';
import { resourceByKey } from './resources.js';
import { defaultSchemasDir } from './package-paths.js';
import { schemaValidatorFor } from './schema-validator.js';
import { seedCluster } from './seed.js';
import { createHandler } from './server.js';
import { RequestRecorder } from './request-info.js';
import { ObjectStore } from './store.js';
import { VmActions } from './vm-actions.js';
import { GuestAgents } from './guest-agent.js';
import { Consoles } from './consoles.js';
import { WatchHub } from './watch.js';

export type { Controller, KubeEmulator, KubeEmulatorOptions, RequestFilter } from './emulator-types.js';
export type { AccessOptions } from './access.js';
export type { FailOptions, FaultInjector, FaultMatch } from './faults.js';
export { requestInfoOf } from './request-info.js';
export type { NonResourceRequestInfo, RecordedRequests, RequestInfo, ResourceRequestInfo } from './request-info.js';
export type { StoreListOptions, StoreListener } from './store.js';
export { ObjectStore } from './store.js';
export type { KubeObject, KubeStatus, ObjectMeta, OwnerReference, StatusCause, StoreEvent } from './types.js';
export { AGENT_CONNECTED } from './guest-agent.js';
export { PLAIN_KUBEVIRT_PROTOCOL, VNC_HEIGHT, VNC_WIDTH } from './consoles.js';
export type { ConsoleControl } from './consoles.js';
export type { GuestAgentControl, GuestLogin, GuestOSUser, GuestOSUserList, GuestSession } from './guest-agent.js';
export type { VmAction, VmActionCall, VmActionHandler, VmActionRegistry } from './vm-actions.js';
export { KubeStatusError } from './errors.js';
export { RESOURCES, resourceByKey } from './resources.js';
export type { ResourceDef } from './resources.js';
export { formatQuantity, parseQuantity, QuantityError } from '../../kubernetes/quantity.js';
export type { Quantity, QuantityFormat } from '../../kubernetes/quantity.js';
export { schemaValidatorFor } from './schema-validator.js';
export type { FieldValidation, SchemaValidationResult, SchemaValidator } from './schema-validator.js';
export { createVmLifecycleController } from './vm-lifecycle-controller.js';
export type { VmLifecycleOptions } from './vm-lifecycle-controller.js';
export { createMigrationController, FAIL_MIGRATION_ANNOTATION } from './migration-controller.js';
export type { MigrationControllerOptions } from './migration-controller.js';
export { seededNodeName, SYSTEM_NAMESPACES } from './seed.js';
export {
  createSnapshotController,
  DISK_CONTENT_ANNOTATION,
  FAIL_RESTORE_ANNOTATION,
  FAIL_SNAPSHOT_ANNOTATION,
  KUBEVIRT_CR,
  SNAPSHOT_RESOURCES,
} from './snapshot-controller.js';
export type { SnapshotControllerOptions } from './snapshot-controller.js';
export { CLONE_RESOURCE, createCloneController, FAIL_CLONE_ANNOTATION } from './clone-controller.js';
export type { CloneControllerOptions } from './clone-controller.js';

/**
 * Starts an in-process Kubernetes API server emulator (plain HTTP) that `@kubernetes/client-node`
 * can use unchanged: REST + watch for the core, RBAC, networking, KubeVirt, CDI and labplane
 * resources, discovery, strict schema validation, ResourceQuota admission, namespace termination,
 * KubeVirt VM actions, the guest agent's `userlist`, the VMI `vnc` and `console` websockets and fault injection. Nothing is shared between emulators except the compiled
 * schema validators.
 */
export async function startKubeEmulator(opts: KubeEmulatorOptions = {}): Promise<KubeEmulator> {
  const host = opts.host ?? '127.0.0.1';
  const validator = schemaValidatorFor(
    opts.schemasDir === undefined ? defaultSchemasDir() : resolve(process.cwd(), opts.schemasDir),
    opts.crdsDir === undefined ? undefined : resolve(process.cwd(), opts.crdsDir),
  );
  const store = new ObjectStore(opts.watchHistorySize ?? 1000);
  seedCluster(store, opts.seedNodes ?? 3, opts.namespaces ?? []);
  const stopQuota = startQuotaController(store);
  const lifecycle = new Lifecycle(store, opts.namespaceDeletionDelayMs ?? 200);
  const watches = new WatchHub(store, opts.bookmarkIntervalMs ?? 60_000);
  const faults = new FaultState(() => watches.dropAll());
  const vmActions = new VmActions(store);
  const guestAgents = new GuestAgents(store);
  const access = new AccessControl(opts.access);
  const consoles = new Consoles(store, access);
  const counts = new Map<string, number>();
  const uninstalled = new Set(opts.uninstalledResources ?? []);
  for (const key of uninstalled) resourceByKey(key);
  const recorder = new RequestRecorder(opts.recordRequests === true);
  let address = `${host}:0`;

  const server = createServer(
    createHandler({
      store,
      validator,
      lifecycle,
      faults,
      watches,
      vmActions,
      guestAgents,
      access,
      served: (def) => !uninstalled.has(def.key),
      count: (method, path) => {
        const key = `${method} ${path}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      },
      record: (method, url) => recorder.record(method, url),
      address: () => address,
    }),
  );
  server.keepAliveTimeout = 30_000;
  // Websocket requests (the VMI `vnc` and `console` subresources) come as upgrades, not requests.
  server.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://emulator').pathname;
    counts.set(`GET ${path}`, (counts.get(`GET ${path}`) ?? 0) + 1);
    consoles.upgrade(req, socket, head, (method, url) => recorder.record(method, url));
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      done();
    });
  });
  const port = (server.address() as AddressInfo).port;
  address = `${host}:${port}`;
  const controllers = opts.controllers ?? [];
  let closed = false;

  const emulator: KubeEmulator = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    faults,
    store,
    vmActions,
    guestAgents,
    consoles,
    requestCount(filter: RequestFilter = {}) {
      let n = 0;
      for (const [key, count] of counts) {
        const space = key.indexOf(' ');
        const method = key.slice(0, space);
        const path = key.slice(space + 1);
        if (filter.method && filter.method.toUpperCase() !== method) continue;
        if (filter.pathPrefix && !path.startsWith(filter.pathPrefix)) continue;
        n += count;
      }
      return n;
    },
    installResource(key) {
      resourceByKey(key);
      uninstalled.delete(key);
    },
    uninstallResource(key) {
      resourceByKey(key);
      uninstalled.add(key);
    },
    recordedRequests: () => recorder.snapshot(),
    checkQuota(resource, obj) {
      const def = resourceByKey(resource);
      if (def.namespaced) checkQuota(store, def, obj.metadata.namespace ?? '', obj.metadata.name ?? '', obj);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const c of controllers) c.stop();
      stopQuota();
      guestAgents.close();
      consoles.close();
      lifecycle.stop();
      watches.dropAll();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
  for (const c of controllers) c.start(emulator);
  return emulator;
}
