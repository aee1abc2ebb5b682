import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { AuditLog } from '../../domain/audit/audit.js';
import type { PrincipalResolver } from '../../domain/auth/authenticator.js';
import { ForbiddenError } from '../../domain/shared/errors.js';
import type { Clock } from '../../domain/shared/ids.js';
import { refuseOverConsoleLimits, type ConsoleGrant, type ConsoleLimits, type ConsoleService, type ConsoleType } from '../../domain/vms/console.js';
import { authenticate } from '../plugins/auth.js';
import { sendProblem } from '../plugins/errors.js';
import { makeProblem } from '../problem.js';
import type { ConsoleSessionRegistry } from './sessions.js';
import { CONSOLE_SOCKET_PREFIX } from './ticket-path.js';

export { CONSOLE_SOCKET_PREFIX, redactConsolePath } from './ticket-path.js';
export const CONSOLE_SOCKET_ROUTE = `${CONSOLE_SOCKET_PREFIX}:ticket`;

/** Opens the VM's console at the cluster (virt-api), with the control plane's own credentials; the socket comes paused. */
export type ConsoleDialer = (tenant: string, vm: string, type: ConsoleType) => Promise<WebSocket>;

export interface ConsoleProxyOptions {
  readonly consoles: Pick<ConsoleService, 'redeem'>;
  readonly dial: ConsoleDialer;
  readonly registry: ConsoleSessionRegistry;
  readonly limits: ConsoleLimits;
  /** Resolves a bearer token a non-browser client may send beside the ticket (it must name the ticket's holder). */
  readonly principals: PrincipalResolver;
  readonly auditLog: AuditLog;
  readonly clock: Clock;
  /** No bytes either way for this long closes the console, ms. */
  readonly idleTimeoutMs: number;
  /** A console closes after this long, ms. */
  readonly maxSessionMs: number;
  /** Bytes queued towards one side above which the other side is no longer read (default 1 MiB). */
  readonly highWaterBytes?: number;
  /** How often the idle and length limits are looked at, ms (default 1000; they are measured on `clock`). */
  readonly checkEveryMs?: number;
}

/** Close codes of RFC 6455 §7.4.1 a peer may send (1005, 1006 and 1015 never go on the wire). */
function sendableCode(code: number): number {
  return (code >= 1000 && code <= 1014 && ![1004, 1005, 1006].includes(code)) || (code >= 3000 && code <= 4999) ? code : 1000;
}

interface Prepared {
  readonly grant: ConsoleGrant;
  readonly upstream: WebSocket;
  readonly release: () => void;
  readonly pending: { toClient: number; toVm: number };
}

declare module 'fastify' {
  interface FastifyRequest {
    consoleSession?: Prepared | undefined;
  }
}

/** A form post or upgrade must come from a page of this host: `Origin` absent (non-browser clients) or naming it. */
function refuseCrossOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host !== request.host.toLowerCase()) {
    throw new ForbiddenError('The console may only be opened from a page of this site.');
  }
}

/**
 * The console websocket proxy: takes the ticket (single use), connects to the VM's `vnc` or
 * `console` subresource with the control plane's credentials, and moves binary frames both ways.
 * Backpressure: a side is no longer read while more than `highWaterBytes` wait to be written to
 * the other (so a slow browser slows the VM's output down to TCP, rather than filling memory).
 * Both sides are closed together; idle and length limits close them; each session is one audit
 * event; the registry counts those open (the caps, the `labplane_console_sessions` gauge). Refusals come before the upgrade, as
 * problem+json answers.
 */
export function registerConsoleProxy(app: FastifyInstance, opts: ConsoleProxyOptions): void {
  const high = opts.highWaterBytes ?? 1024 * 1024;
  const checkEvery = opts.checkEveryMs ?? 1000;

  async function prepare(request: FastifyRequest<{ Params: { ticket: string } }>): Promise<void> {
    if (!request.ws) return;
    refuseCrossOrigin(request);
    const header = request.headers.authorization;
    const caller = header === undefined ? undefined : await authenticate(opts.principals, header);
    const grant = await opts.consoles.redeem(request.params.ticket, caller);
    // Checked and reserved in one step (no await between), so two tickets cannot share the last place.
    refuseOverConsoleLimits(opts.registry, opts.limits, grant.tenant, grant.vm);
    const pending = { toClient: 0, toVm: 0 };
    const release = opts.registry.add({ tenant: grant.tenant, vm: grant.vm, type: grant.type, pending: () => ({ ...pending }) });
    try {
      const upstream = await opts.dial(grant.tenant, grant.vm, grant.type);
      request.consoleSession = { grant, upstream, release, pending };
    } catch (err) {
      release();
      throw err;
    }
  }

  function serve(client: WebSocket, request: FastifyRequest): void {
    const session = request.consoleSession;
    if (session === undefined) {
      client.close(1011, 'no console');
      return;
    }
    request.consoleSession = undefined;
    const { grant, upstream, release, pending } = session;
    const startedAt = opts.clock.now().getTime();
    let lastActivity = startedAt;
    const bytes = { toVm: 0, fromVm: 0 };
    let closedBy: string | undefined;

    /** Moves `from`'s messages to `to`, reading `from` only while `to` has room. */
    const pipe = (from: WebSocket, to: WebSocket, side: 'toVm' | 'toClient') => {
      from.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const chunk = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        lastActivity = opts.clock.now().getTime();
        if (side === 'toVm') bytes.toVm += chunk.length;
        else bytes.fromVm += chunk.length;
        if (to.readyState !== to.OPEN) return;
        pending[side] += chunk.length;
        to.send(chunk, { binary: true }, () => {
          pending[side] -= chunk.length;
          if (from.isPaused && pending[side] <= high / 2) from.resume();
        });
        if (pending[side] > high && !from.isPaused) from.pause();
      });
    };
    pipe(client, upstream, 'toVm');
    pipe(upstream, client, 'toClient');
    upstream.resume();

    const timer = setInterval(() => {
      const now = opts.clock.now().getTime();
      if (now - startedAt >= opts.maxSessionMs) end('max-session', 1000, 'The console reached its time limit.');
      else if (now - lastActivity >= opts.idleTimeoutMs) end('idle-timeout', 1000, 'The console was idle too long.');
    }, checkEvery);
    timer.unref();

    let ended = false;
    function end(by: string, code: number, reason: string): void {
      closedBy ??= by;
      if (ended) return;
      ended = true;
      clearInterval(timer);
      for (const s of [client, upstream]) {
        if (s.readyState === s.OPEN) s.close(code, reason);
        // A peer that does not answer the close handshake is cut off.
        const kill = setTimeout(() => s.terminate(), 5000);
        kill.unref();
        s.once('close', () => clearTimeout(kill));
      }
    }

    const finished = new Promise<void>((resolve) => {
      let open = 2;
      const one = () => {
        open -= 1;
        if (open === 0) resolve();
      };
      client.once('close', one);
      upstream.once('close', one);
    });
    client.on('close', (code) => end('client', sendableCode(code), 'The browser closed the console.'));
    upstream.on('close', (code) => end('vm', sendableCode(code), 'The VM console closed.'));
    upstream.on('error', () => end('error', 1011, 'The VM console failed.'));
    client.on('error', () => end('error', 1011, 'The browser connection failed.'));

    void finished.then(() => {
      release();
      const endedAt = opts.clock.now().getTime();
      const record = {
        type: grant.type,
        startedAt: new Date(startedAt).toISOString(),
        endedAt: new Date(endedAt).toISOString(),
        durationMs: endedAt - startedAt,
        bytesToVm: bytes.toVm,
        bytesFromVm: bytes.fromVm,
        closedBy: closedBy ?? 'client',
      };
      request.log.info({ tenant: grant.tenant, vm: grant.vm, actor: grant.actor.id, console: record }, 'console session ended');
      opts.auditLog
        .append({
          at: record.startedAt,
          actor: { id: grant.actor.id, kind: grant.actor.kind, name: grant.actor.name },
          ...(grant.actor.onBehalfOf === undefined ? {} : { onBehalfOf: grant.actor.onBehalfOf }),
          action: 'consoleSession',
          method: 'GET',
          path: `${CONSOLE_SOCKET_PREFIX}[ticket]`,
          tenant: grant.tenant,
          target: { type: 'vm', id: grant.vm },
          result: { status: 101 },
          requestId: String(request.id),
          console: record,
        })
        .catch((err: unknown) => request.log.error({ err }, 'audit event of a console session not stored'));
    });
  }

  app.route<{ Params: { ticket: string } }>({
    method: 'GET',
    url: CONSOLE_SOCKET_ROUTE,
    schema: { hide: true },
    config: { permission: 'public' },
    preValidation: prepare,
    // A plain GET: the address only speaks WebSocket.
    handler: async (_request: FastifyRequest, reply: FastifyReply) => {
      reply.header('upgrade', 'websocket');
      return sendProblem(reply, makeProblem('WEBSOCKET_REQUIRED', 'Open this address as a WebSocket (the VM console), with a fresh ticket.'));
    },
    wsHandler: serve,
  });
}
