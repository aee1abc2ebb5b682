import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { AccessControl } from './access.js';
import { KubeStatusError, pathNotFound, toStatusError } from './errors.js';
import { Framebuffer, RfbConnection } from './rfb-server.js';
import type { ObjectStore } from './store.js';
import type { KubeObject, KubeStatus } from './types.js';
import { asVmi, VMI } from './vm-sim-objects.js';

/** virt-api's websocket subprotocol: one binary stream of raw bytes, no channel prefix. */
export const PLAIN_KUBEVIRT_PROTOCOL = 'plain.kubevirt.io';

export type ConsoleKind = 'vnc' | 'console';

/** Size of the simulated VNC display. */
export const VNC_WIDTH = 640;
export const VNC_HEIGHT = 200;

/** The serial consoles and VNC displays of running VMIs, for tests to drive. */
export interface ConsoleControl {
  /**
   * The guest writes `data` to its serial console: sent to every open `console` connection of the
   * VMI. Answers the largest number of bytes still queued towards one of them (the caller may wait
   * for it to fall before printing more, as a serial line would).
   */
  print(namespace: string, name: string, data: Buffer | string): number;
  /** Open `console` and `vnc` connections of a VMI. */
  connections(namespace: string, name: string): { console: number; vnc: number };
}

interface Open {
  kind: ConsoleKind;
  namespace: string;
  name: string;
  vmiUid: string;
  socket: WebSocket;
}

const BACKGROUND: readonly [number, number, number] = [16, 42, 80];
const FOREGROUND: readonly [number, number, number] = [240, 240, 240];
const ACCENT: readonly [number, number, number] = [120, 200, 255];

function failure(code: number, reason: string, message: string, details?: KubeStatus['details']): KubeStatusError {
  return new KubeStatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
    ...(details === undefined ? {} : { details }),
  });
}

/** Answers a refused upgrade on the raw socket, as an HTTP response with a JSON Status. */
function refuse(socket: Duplex, err: unknown): void {
  const e = toStatusError(err);
  const body = JSON.stringify(e.status);
  const reason = e.status.reason ?? 'Error';
  socket.end(
    `HTTP/1.1 ${e.code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * virt-api's `vnc` and `console` subresources of VirtualMachineInstances
 * (`GET /apis/subresources.kubevirt.io/v1/namespaces/{ns}/virtualmachineinstances/{name}/vnc|console`
 * upgraded to a websocket with subprotocol `plain.kubevirt.io`, binary frames of raw bytes). As
 * virt-api: a VMI absent is 404 NotFound (`virtualmachineinstance.kubevirt.io "x" not found`), one
 * not Running is 400 BadRequest (`VMI is not running`), both JSON Status bodies. The `console` is a
 * serial line with a login prompt that echoes; `vnc` an RFB 3.8 server whose display shows the
 * VMI's name and state. Connections end when their VMI goes.
 */
export class Consoles implements ConsoleControl {
  private readonly wss = new WebSocketServer({
    noServer: true,
    // KubeVirt's upgrader offers the one subprotocol; a client that offers none gets none.
    handleProtocols: (protocols) => (protocols.has(PLAIN_KUBEVIRT_PROTOCOL) ? PLAIN_KUBEVIRT_PROTOCOL : false),
    maxPayload: 1024 * 1024,
  });
  private readonly open = new Set<Open>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly store: ObjectStore,
    private readonly access: AccessControl,
  ) {
    this.unsubscribe = store.subscribe(VMI, (ev) => {
      if (ev.type !== 'DELETED') return;
      for (const o of this.open) if (o.vmiUid === ev.object.metadata.uid) o.socket.close(1000, 'VMI stopped');
    });
  }

  close(): void {
    this.unsubscribe();
    for (const o of this.open) o.socket.terminate();
    this.open.clear();
    this.wss.close();
  }

  /** The server's `upgrade` listener: every websocket request to the emulator comes here. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, record: (method: string, url: URL) => void): void {
    try {
      const url = new URL(req.url ?? '/', 'http://emulator');
      record('GET', url);
      this.access.authenticate(req.headers.authorization);
      const target = consoleTarget(url.pathname);
      if (target === undefined) throw pathNotFound();
      const vmi = this.store.peek(VMI, target.namespace, target.name);
      if (!vmi) {
        throw failure(404, 'NotFound', `virtualmachineinstance.kubevirt.io "${target.name}" not found`, {
          name: target.name,
          group: 'kubevirt.io',
          kind: 'virtualmachineinstance',
        });
      }
      if (asVmi(vmi).status?.phase !== 'Running') throw failure(400, 'BadRequest', 'VMI is not running');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, target.kind, vmi));
    } catch (err) {
      refuse(socket, err);
    }
  }

  private serve(ws: WebSocket, kind: ConsoleKind, vmi: KubeObject): void {
    const o: Open = { kind, namespace: vmi.metadata.namespace ?? '', name: vmi.metadata.name ?? '', vmiUid: vmi.metadata.uid ?? '', socket: ws };
    this.open.add(o);
    ws.on('close', () => this.open.delete(o));
    ws.on('error', () => ws.terminate());
    if (kind === 'console') this.serveSerial(ws, o.name);
    else this.serveVnc(ws, vmi);
  }

  /** A serial line: a login prompt, every byte echoed (Enter prompts again, Backspace erases). */
  private serveSerial(ws: WebSocket, name: string): void {
    const prompt = `${name} login: `;
    ws.send(Buffer.from(`\r\n${prompt}`, 'utf8'));
    ws.on('message', (data: Buffer) => {
      const out: string[] = [];
      for (const byte of data) {
        if (byte === 0x0d) out.push(`\r\n${prompt}`);
        else if (byte === 0x7f || byte === 0x08) out.push('\b \b');
        else out.push(String.fromCharCode(byte));
      }
      ws.send(Buffer.from(out.join(''), 'latin1'));
    });
  }

  private serveVnc(ws: WebSocket, vmi: KubeObject): void {
    const fb = new Framebuffer(VNC_WIDTH, VNC_HEIGHT);
    let keys = 0;
    const draw = (): void => {
      const status = asVmi(vmi).status;
      fb.fill(0, 0, fb.width, fb.height, BACKGROUND);
      fb.fill(0, 0, fb.width, 4, ACCENT);
      fb.text(16, 20, 'labplane simulated display', 2, ACCENT);
      fb.text(16, 56, `vm ${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}`, 2, FOREGROUND);
      fb.text(16, 92, `state ${status?.phase ?? 'unknown'}`, 2, FOREGROUND);
      fb.text(16, 128, `node ${status?.nodeName ?? '-'}`, 2, FOREGROUND);
      fb.text(16, 164, `keys ${keys}`, 2, FOREGROUND);
    };
    draw();
    const rfb = new RfbConnection(fb, `${vmi.metadata.namespace ?? ''}/${vmi.metadata.name ?? ''}`, {
      send: (bytes) => ws.send(bytes),
      close: (reason) => ws.close(1002, reason.slice(0, 120)),
      key: (down) => {
        if (!down) return;
        keys += 1;
        draw();
        rfb.invalidate();
      },
    });
    ws.on('message', (data: Buffer) => rfb.receive(data));
  }

  print(namespace: string, name: string, data: Buffer | string): number {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let queued = 0;
    for (const o of this.open) {
      if (o.kind !== 'console' || o.namespace !== namespace || o.name !== name) continue;
      o.socket.send(bytes);
      queued = Math.max(queued, o.socket.bufferedAmount);
    }
    return queued;
  }

  connections(namespace: string, name: string): { console: number; vnc: number } {
    const n = { console: 0, vnc: 0 };
    for (const o of this.open) if (o.namespace === namespace && o.name === name) n[o.kind === 'console' ? 'console' : 'vnc'] += 1;
    return n;
  }
}

/** `{ns, name, kind}` of a `.../virtualmachineinstances/{name}/vnc|console` path, else undefined. */
export function consoleTarget(path: string): { namespace: string; name: string; kind: ConsoleKind } | undefined {
  const m = /^\/apis\/subresources\.kubevirt\.io\/v1\/namespaces\/([^/]+)\/virtualmachineinstances\/([^/]+)\/(vnc|console)\/?$/.exec(path);
  if (m === null) return undefined;
  return { namespace: decodeURIComponent(m[1] ?? ''), name: decodeURIComponent(m[2] ?? ''), kind: m[3] as ConsoleKind };
}
