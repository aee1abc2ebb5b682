import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AccessControl } from './access.js';
import { verbOf } from './access.js';
import { apiGroup, coreVersions, groupList, KUBEVIRT_SUBRESOURCE_GROUP, resourceList, versionInfo, VM_ACTIONS } from './discovery.js';
import { badRequest, methodNotAllowed, notFound, pathNotFound, toStatusError } from './errors.js';
import type { FaultState } from './faults.js';
import { dryRunOf, fieldValidationOf, parseJsonBody, parseResourcePath, readBody, sendJson, sendText } from './http-util.js';
import type { ResourcePath } from './http-util.js';
import { listObjects, parseLimit } from './list.js';
import { findResource, withTypeMeta } from './resources.js';
import type { ResourceDef, ServedFilter } from './resources.js';
import type { VmAction, VmActions } from './vm-actions.js';
import type { GuestAgents } from './guest-agent.js';
import { agentConnected } from './guest-agent.js';
import { asVmi, VMI } from './vm-sim-objects.js';
import type { WatchHub } from './watch.js';
import type { WriteEnv, WriteOptions, WriteResult } from './writes.js';
import { createObject, deleteObject, patchObject, replaceObject } from './writes.js';
import { isObject } from './types.js';

/** Everything the HTTP handler dispatches to. */
export interface HandlerEnv extends WriteEnv {
  faults: FaultState;
  watches: WatchHub;
  vmActions: VmActions;
  guestAgents: GuestAgents;
  access: AccessControl;
  /** Resources served now; the others answer 404 and are left out of discovery, as without their CRD. */
  served: ServedFilter;
  /** Called once per request before anything else. */
  count(method: string, path: string): void;
  /** Called once per request with the full URL (the request recorder). */
  record(method: string, url: URL): void;
  /** `host:port` for `/api` serverAddressByClientCIDRs. */
  address(): string;
}

const HEALTH = new Set(['/healthz', '/readyz', '/livez']);

/** The node:http request listener of the emulator. */
export function createHandler(env: HandlerEnv): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(env, req, res).catch((err: unknown) => {
      const e = toStatusError(err);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, e.code, e.status, e.headers);
    });
  };
}

async function handle(env: HandlerEnv, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const url = new URL(req.url ?? '/', 'http://emulator');
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  env.count(method, path);
  env.record(method, url);
  const delay = env.faults.delayFor(method, path);
  if (delay > 0) await sleep(delay);
  const injected = env.faults.takeFailure(method, path);
  if (injected) throw injected;
  env.access.authenticate(req.headers.authorization);

  if (HEALTH.has(path) || [...HEALTH].some((h) => path.startsWith(`${h}/`))) return sendText(res, 200, 'ok');
  if (path === '/version') return sendJson(res, 200, versionInfo());
  if (path === '/api') return sendJson(res, 200, coreVersions(env.address()));
  if (path === '/apis') return sendJson(res, 200, groupList(env.served));
  const segments = path.split('/').filter(Boolean);
  if (segments[0] === 'apis' && segments.length === 2 && segments[1]) return sendDiscovery(res, apiGroup(segments[1], env.served));
  if ((segments[0] === 'api' && segments.length === 2) || (segments[0] === 'apis' && segments.length === 3)) {
    const [group, version] = segments[0] === 'api' ? ['', segments[1] ?? ''] : [segments[1] ?? '', segments[2] ?? ''];
    return sendDiscovery(res, resourceList(group, version, env.served));
  }
  if (segments[0] === 'apis' && segments[1] === KUBEVIRT_SUBRESOURCE_GROUP) {
    if (segments[5] === 'virtualmachineinstances') return handleVmiSubresource(env, res, method, segments);
    return handleVmAction(env, req, res, method, segments);
  }
  const rp = parseResourcePath(segments);
  if (!rp) throw pathNotFound();
  const def = findResource(rp.group, rp.version, rp.plural);
  if (!def || !env.served(def)) throw pathNotFound();
  if (def.namespaced ? rp.namespace === undefined && rp.name !== undefined : rp.namespace !== undefined) throw pathNotFound();
  if (rp.subresource !== undefined && !(rp.subresource === 'status' && def.statusSubresource)) throw pathNotFound();
  const watch = rp.watchPrefix || ['true', '1'].includes(url.searchParams.get('watch') ?? '');
  env.access.authorize({
    verb: verbOf(method, rp.name !== undefined && !watch, watch),
    def,
    ...(rp.namespace === undefined ? {} : { namespace: rp.namespace }),
    ...(rp.name === undefined ? {} : { name: rp.name }),
  });
  await handleResource(env, req, res, method, url.searchParams, def, rp);
}

function sendDiscovery(res: ServerResponse, body: unknown): void {
  if (body === undefined) throw pathNotFound();
  sendJson(res, 200, body);
}

async function handleVmAction(env: HandlerEnv, req: IncomingMessage, res: ServerResponse, method: string, segments: string[]): Promise<void> {
  const [, , version, nsWord, ns, plural, name, action, extra] = segments;
  const known = (VM_ACTIONS as readonly string[]).includes(action ?? '');
  if (version !== 'v1' || nsWord !== 'namespaces' || !ns || plural !== 'virtualmachines' || !name || !known || extra !== undefined) {
    throw pathNotFound();
  }
  if (method !== 'PUT') throw methodNotAllowed();
  const text = await readBody(req);
  const body = text.trim() === '' ? undefined : parseJsonBody(text);
  env.vmActions.handle(action as VmAction, decodeURIComponent(ns), decodeURIComponent(name), body);
  res.writeHead(202, { 'Content-Length': 0 });
  res.end();
}

/**
 * `GET /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/userlist`,
 * as virt-api serves it: the VMI must exist, be Running and have its guest agent connected
 * (`AgentConnected` condition), else virt-api answers 500 Internal Server Error with the error text
 * as a plain-text body (go-restful `WriteError`), not a JSON Status.
 */
function handleVmiSubresource(env: HandlerEnv, res: ServerResponse, method: string, segments: string[]): void {
  const [, , version, nsWord, ns, , name, subresource, extra] = segments;
  const known = subresource === 'userlist' || subresource === 'vnc' || subresource === 'console';
  if (version !== 'v1' || nsWord !== 'namespaces' || !ns || !name || !known || extra !== undefined) throw pathNotFound();
  if (method !== 'GET') throw methodNotAllowed();
  // A websocket request comes as an upgrade (consoles.ts); a plain GET is refused as gorilla's upgrader does.
  if (subresource !== 'userlist')
    return sendText(
      res,
      400,
      "Bad Request\nwebsocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header",
    );
  const vmiName = decodeURIComponent(name);
  const vmi = env.store.peek(VMI, decodeURIComponent(ns), vmiName);
  const target = `virtualmachineinstance.kubevirt.io "${vmiName}"`;
  if (!vmi) return sendText(res, 500, `${target} not found`);
  if (asVmi(vmi).status?.phase !== 'Running') return sendText(res, 500, `Operation cannot be fulfilled on ${target}: VMI is not running`);
  if (!agentConnected(vmi)) return sendText(res, 500, `Operation cannot be fulfilled on ${target}: VMI does not have guest agent connected`);
  sendJson(res, 200, env.guestAgents.userList(vmi));
}

function writeOptions(query: URLSearchParams): WriteOptions {
  const opts: WriteOptions = { fieldValidation: fieldValidationOf(query), dryRun: dryRunOf(query) };
  const manager = query.get('fieldManager');
  if (manager) opts.fieldManager = manager;
  return opts;
}

function sendWrite(res: ServerResponse, result: WriteResult): void {
  sendJson(res, result.code, result.body, result.warnings.length > 0 ? { Warning: result.warnings } : {});
}

async function handleResource(
  env: HandlerEnv,
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  query: URLSearchParams,
  def: ResourceDef,
  rp: ResourcePath,
): Promise<void> {
  const { namespace: ns, name, subresource } = rp;
  if (def.readOnly && method !== 'GET') throw methodNotAllowed();
  if (method === 'GET') {
    if (name !== undefined && rp.watchPrefix && subresource === undefined) {
      const byName = `metadata.name=${name}`;
      const fieldSelector = query.get('fieldSelector');
      query.set('fieldSelector', fieldSelector ? `${fieldSelector},${byName}` : byName);
      const { name: _byName, ...collection } = rp;
      return handleResource(env, req, res, method, query, def, collection);
    }
    if (name !== undefined) {
      const obj = env.store.peek(def.key, ns, name);
      if (!obj) throw notFound(def, name);
      return sendJson(res, 200, withTypeMeta(def, obj));
    }
    const watch = rp.watchPrefix || ['true', '1'].includes(query.get('watch') ?? '');
    const selectors = { labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined };
    if (watch) {
      const timeout = query.get('timeoutSeconds');
      env.watches.serve(res, {
        def,
        ...(ns !== undefined ? { namespace: ns } : {}),
        ...definedOnly(selectors),
        ...(query.get('resourceVersion') !== null ? { resourceVersion: query.get('resourceVersion') ?? '' } : {}),
        allowBookmarks: query.get('allowWatchBookmarks') === 'true',
        ...(timeout !== null && timeout !== '' ? { timeoutSeconds: Number(timeout) } : {}),
      });
      return;
    }
    const limit = parseLimit(query.get('limit'));
    const cont = query.get('continue');
    return sendJson(
      res,
      200,
      listObjects(env.store, def, {
        ...(ns !== undefined ? { namespace: ns } : {}),
        ...definedOnly(selectors),
        ...(limit !== undefined ? { limit } : {}),
        ...(cont ? { continueToken: cont } : {}),
      }),
    );
  }
  const text = await readBody(req);
  if (method === 'POST') {
    if (name !== undefined || (def.namespaced && ns === undefined)) throw methodNotAllowed();
    return sendWrite(res, createObject(env, def, ns, parseJsonBody(text), writeOptions(query)));
  }
  if (name === undefined) {
    if (method === 'DELETE') return deleteCollection(env, res, def, ns, query);
    throw methodNotAllowed();
  }
  if (method === 'PUT') return sendWrite(res, replaceObject(env, def, ns, name, parseJsonBody(text), writeOptions(query), subresource));
  if (method === 'PATCH') return sendWrite(res, patchObject(env, def, ns, name, req.headers['content-type'], text, writeOptions(query), subresource));
  if (method === 'DELETE' && subresource === undefined) {
    const options = text.trim() === '' ? {} : parseJsonBody(text);
    if (!isObject(options)) throw badRequest('DeleteOptions must be an object');
    const preconditions = isObject(options.preconditions) ? options.preconditions : {};
    const policy = query.get('propagationPolicy') ?? (typeof options.propagationPolicy === 'string' ? options.propagationPolicy : undefined);
    const dryRun = dryRunOf(query) || (Array.isArray(options.dryRun) && options.dryRun.includes('All'));
    return sendWrite(
      res,
      deleteObject(env, def, ns, name, {
        preconditions: definedOnly({
          uid: typeof preconditions.uid === 'string' ? preconditions.uid : undefined,
          resourceVersion: typeof preconditions.resourceVersion === 'string' ? preconditions.resourceVersion : undefined,
        }),
        ...(policy !== undefined ? { propagationPolicy: policy } : {}),
        dryRun,
      }),
    );
  }
  throw methodNotAllowed();
}

function deleteCollection(env: HandlerEnv, res: ServerResponse, def: ResourceDef, ns: string | undefined, query: URLSearchParams): void {
  const victims = env.store.list(def.key, {
    ...(ns !== undefined ? { namespace: ns } : {}),
    ...definedOnly({ labelSelector: query.get('labelSelector') ?? undefined, fieldSelector: query.get('fieldSelector') ?? undefined }),
  });
  const dryRun = dryRunOf(query);
  const deleted = victims.map((v) => deleteObject(env, def, v.metadata.namespace, v.metadata.name ?? '', { dryRun }).body);
  if (def.builtin) return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 });
  sendJson(res, 200, { apiVersion: def.group ? `${def.group}/${def.version}` : def.version, kind: `${def.kind}List`, metadata: {}, items: deleted });
}

/** Drops keys whose value is undefined (for exactOptionalPropertyTypes). */
function definedOnly<T extends Record<string, unknown>>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]?: Exclude<T[K], undefined> };
}
