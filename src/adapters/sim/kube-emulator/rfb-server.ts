/**
 * A small RFB (VNC) server, RFC 6143, for the emulated `vnc` subresource: protocol 3.8 (3.7 and 3.3
 * answered as the RFC says), security type None, ServerInit, SetPixelFormat (any true-colour format
 * of 8, 16 or 32 bits per pixel, either byte order), SetEncodings, FramebufferUpdateRequest answered
 * with Raw rectangles, KeyEvent, PointerEvent and ClientCutText accepted. It speaks over bytes (the
 * caller moves them over the websocket), so it can be driven by any transport and by a test alone.
 *
 * Own code rather than a library: the npm RFB servers are unmaintained or native (libvncserver
 * bindings); the part a console test needs is a page of byte handling.
 */

/** RFC 6143 §7.4: the pixel format of ServerInit and SetPixelFormat. */
export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** What the server shows: a fixed-size RGB framebuffer the owner draws into. */
export class Framebuffer {
  readonly rgb: Uint8Array;
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.rgb = new Uint8Array(width * height * 3);
  }

  fill(x: number, y: number, w: number, h: number, colour: readonly [number, number, number]): void {
    for (let row = Math.max(0, y); row < Math.min(this.height, y + h); row++) {
      for (let col = Math.max(0, x); col < Math.min(this.width, x + w); col++) {
        const i = (row * this.width + col) * 3;
        this.rgb[i] = colour[0];
        this.rgb[i + 1] = colour[1];
        this.rgb[i + 2] = colour[2];
      }
    }
  }

  /** Draws `text` (upper-cased; 5x7 glyphs, one column and one row apart) at `scale` pixels per dot. */
  text(x: number, y: number, text: string, scale: number, colour: readonly [number, number, number]): void {
    let cx = x;
    for (const ch of text.toUpperCase()) {
      const glyph = GLYPHS[ch] ?? GLYPHS['?'] ?? [];
      glyph.forEach((bits, row) => {
        for (let col = 0; col < 5; col++) {
          if ((bits >> (4 - col)) & 1) this.fill(cx + col * scale, y + row * scale, scale, scale, colour);
        }
      });
      cx += 6 * scale;
    }
  }
}

/** A classic 5x7 dot font: seven rows per glyph, bit 4 the leftmost column. */
const GLYPHS: Readonly<Record<string, readonly number[]>> = {
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  '0': [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  '1': [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  '2': [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  '3': [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  '4': [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  '5': [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  '6': [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  '7': [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  '8': [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  '9': [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  '-': [0, 0, 0, 0x1f, 0, 0, 0],
  _: [0, 0, 0, 0, 0, 0, 0x1f],
  '.': [0, 0, 0, 0, 0, 0x0c, 0x0c],
  ':': [0, 0x0c, 0x0c, 0, 0x0c, 0x0c, 0],
  '/': [0, 0x01, 0x02, 0x04, 0x08, 0x10, 0],
  '?': [0x0e, 0x11, 0x01, 0x02, 0x04, 0, 0x04],
  ' ': [0, 0, 0, 0, 0, 0, 0],
};

/** The server's own pixel format (until the client sets one): 32 bits, depth 24, little-endian xRGB. */
export const SERVER_PIXEL_FORMAT: PixelFormat = {
  bitsPerPixel: 32,
  depth: 24,
  bigEndian: false,
  trueColour: true,
  redMax: 255,
  greenMax: 255,
  blueMax: 255,
  redShift: 16,
  greenShift: 8,
  blueShift: 0,
};

export function encodePixelFormat(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(pf.bitsPerPixel, 0);
  b.writeUInt8(pf.depth, 1);
  b.writeUInt8(pf.bigEndian ? 1 : 0, 2);
  b.writeUInt8(pf.trueColour ? 1 : 0, 3);
  b.writeUInt16BE(pf.redMax, 4);
  b.writeUInt16BE(pf.greenMax, 6);
  b.writeUInt16BE(pf.blueMax, 8);
  b.writeUInt8(pf.redShift, 10);
  b.writeUInt8(pf.greenShift, 11);
  b.writeUInt8(pf.blueShift, 12);
  return b;
}

export function decodePixelFormat(b: Buffer, offset = 0): PixelFormat {
  return {
    bitsPerPixel: b.readUInt8(offset),
    depth: b.readUInt8(offset + 1),
    bigEndian: b.readUInt8(offset + 2) !== 0,
    trueColour: b.readUInt8(offset + 3) !== 0,
    redMax: b.readUInt16BE(offset + 4),
    greenMax: b.readUInt16BE(offset + 6),
    blueMax: b.readUInt16BE(offset + 8),
    redShift: b.readUInt8(offset + 10),
    greenShift: b.readUInt8(offset + 11),
    blueShift: b.readUInt8(offset + 12),
  };
}

/** The largest ClientCutText (paste) accepted; a longer one ends the connection. */
const MAX_CUT_TEXT = 1024 * 1024;

type Phase = 'version' | 'security' | 'init' | 'normal' | 'closed';

/** One client connection of the RFB server. */
export interface RfbConnectionEvents {
  /** Bytes to send to the client. */
  send(bytes: Buffer): void;
  /** The protocol ended (client error or unsupported request); the transport should close. */
  close(reason: string): void;
  key?(down: boolean, keysym: number): void;
  pointer?(buttons: number, x: number, y: number): void;
  cutText?(text: string): void;
}

/**
 * The server side of one RFB connection. `receive` takes the client's bytes in any chunking;
 * `invalidate` marks the framebuffer changed (a pending incremental update request is answered).
 */
export class RfbConnection {
  private phase: Phase = 'version';
  private buffer: Buffer = Buffer.alloc(0);
  private minor = 8;
  private format: PixelFormat = SERVER_PIXEL_FORMAT;
  /** An incremental FramebufferUpdateRequest waiting for a change (answered once something changes). */
  private pending: { x: number; y: number; w: number; h: number } | undefined;
  encodings: readonly number[] = [];

  constructor(
    private readonly fb: Framebuffer,
    private readonly desktopName: string,
    private readonly events: RfbConnectionEvents,
  ) {
    events.send(Buffer.from('RFB 003.008\n', 'latin1'));
  }

  get pixelFormat(): PixelFormat {
    return this.format;
  }

  receive(chunk: Buffer): void {
    if (this.isClosed()) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (!this.isClosed()) {
      const used = this.step();
      if (used === 0) break;
      this.buffer = this.buffer.subarray(used);
    }
  }

  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  /** The framebuffer changed: answers a waiting incremental request. */
  invalidate(): void {
    if (this.phase !== 'normal' || this.pending === undefined) return;
    const r = this.pending;
    this.pending = undefined;
    this.sendUpdate(r.x, r.y, r.w, r.h);
  }

  private fail(reason: string): number {
    this.phase = 'closed';
    this.events.close(reason);
    return 0;
  }

  /** Handles one message at the head of the buffer; returns the bytes it used (0: wait for more). */
  private step(): number {
    const b = this.buffer;
    switch (this.phase) {
      case 'version': {
        if (b.length < 12) return 0;
        const m = /^RFB (\d{3})\.(\d{3})\n$/.exec(b.subarray(0, 12).toString('latin1'));
        if (m === null || Number(m[1]) !== 3) return this.fail('not an RFB 3.x ProtocolVersion');
        const minor = Number(m[2]);
        // RFC 6143 §7.1.1: 3.3, 3.7 and 3.8 are the versions; a later 3.x client is answered as 3.8.
        this.minor = minor >= 8 ? 8 : minor === 7 ? 7 : 3;
        if (this.minor === 3) {
          this.events.send(u32(1)); // the server decides: None
          this.phase = 'init';
        } else {
          this.events.send(Buffer.from([1, 1])); // one security type: None
          this.phase = 'security';
        }
        return 12;
      }
      case 'security': {
        if (b.length < 1) return 0;
        if (b[0] !== 1) {
          if (this.minor === 8) {
            const reason = Buffer.from('security type not offered', 'latin1');
            this.events.send(Buffer.concat([u32(1), u32(reason.length), reason]));
          }
          return this.fail('client chose a security type that was not offered');
        }
        // SecurityResult follows None in 3.8 only (RFC 6143 §7.1.3).
        if (this.minor === 8) this.events.send(u32(0));
        this.phase = 'init';
        return 1;
      }
      case 'init': {
        if (b.length < 1) return 0;
        const name = Buffer.from(this.desktopName, 'utf8');
        const head = Buffer.alloc(4);
        head.writeUInt16BE(this.fb.width, 0);
        head.writeUInt16BE(this.fb.height, 2);
        this.events.send(Buffer.concat([head, encodePixelFormat(SERVER_PIXEL_FORMAT), u32(name.length), name]));
        this.phase = 'normal';
        return 1;
      }
      case 'normal':
        return this.message(b);
      default:
        return 0;
    }
  }

  private message(b: Buffer): number {
    if (b.length < 1) return 0;
    switch (b[0]) {
      case 0: {
        // SetPixelFormat
        if (b.length < 20) return 0;
        const pf = decodePixelFormat(b, 4);
        if (!pf.trueColour) return this.fail('colour-map pixel formats are not supported');
        if (![8, 16, 32].includes(pf.bitsPerPixel)) return this.fail(`unsupported bits-per-pixel ${pf.bitsPerPixel}`);
        this.format = pf;
        return 20;
      }
      case 2: {
        // SetEncodings
        if (b.length < 4) return 0;
        const count = b.readUInt16BE(2);
        if (b.length < 4 + 4 * count) return 0;
        const encodings: number[] = [];
        for (let i = 0; i < count; i++) encodings.push(b.readInt32BE(4 + 4 * i));
        this.encodings = encodings;
        return 4 + 4 * count;
      }
      case 3: {
        // FramebufferUpdateRequest
        if (b.length < 10) return 0;
        const incremental = b[1] !== 0;
        const r = { x: b.readUInt16BE(2), y: b.readUInt16BE(4), w: b.readUInt16BE(6), h: b.readUInt16BE(8) };
        // Incremental requests wait for a change; answering them at once would make the client spin.
        if (incremental) this.pending = r;
        else this.sendUpdate(r.x, r.y, r.w, r.h);
        return 10;
      }
      case 4: {
        // KeyEvent
        if (b.length < 8) return 0;
        this.events.key?.(b[1] !== 0, b.readUInt32BE(4));
        return 8;
      }
      case 5: {
        // PointerEvent
        if (b.length < 6) return 0;
        this.events.pointer?.(b.readUInt8(1), b.readUInt16BE(2), b.readUInt16BE(4));
        return 6;
      }
      case 6: {
        // ClientCutText
        if (b.length < 8) return 0;
        const length = b.readUInt32BE(4);
        if (length > MAX_CUT_TEXT) return this.fail('ClientCutText too long');
        if (b.length < 8 + length) return 0;
        this.events.cutText?.(b.subarray(8, 8 + length).toString('latin1'));
        return 8 + length;
      }
      default:
        return this.fail(`unknown client message type ${b[0]}`);
    }
  }

  /** One FramebufferUpdate with a Raw rectangle of the requested area (clipped to the framebuffer). */
  private sendUpdate(x: number, y: number, w: number, h: number): void {
    const x0 = Math.min(x, this.fb.width);
    const y0 = Math.min(y, this.fb.height);
    const width = Math.min(w, this.fb.width - x0);
    const height = Math.min(h, this.fb.height - y0);
    const bytesPerPixel = this.format.bitsPerPixel / 8;
    const out = Buffer.alloc(4 + 12 + width * height * bytesPerPixel);
    out.writeUInt8(0, 0); // FramebufferUpdate
    out.writeUInt16BE(1, 2);
    out.writeUInt16BE(x0, 4);
    out.writeUInt16BE(y0, 6);
    out.writeUInt16BE(width, 8);
    out.writeUInt16BE(height, 10);
    out.writeInt32BE(0, 12); // Raw
    let at = 16;
    const pf = this.format;
    for (let row = y0; row < y0 + height; row++) {
      for (let col = x0; col < x0 + width; col++) {
        const i = (row * this.fb.width + col) * 3;
        const value =
          ((Math.round(((this.fb.rgb[i] ?? 0) * pf.redMax) / 255) << pf.redShift) |
            (Math.round(((this.fb.rgb[i + 1] ?? 0) * pf.greenMax) / 255) << pf.greenShift) |
            (Math.round(((this.fb.rgb[i + 2] ?? 0) * pf.blueMax) / 255) << pf.blueShift)) >>>
          0;
        if (bytesPerPixel === 4) {
          if (pf.bigEndian) out.writeUInt32BE(value, at);
          else out.writeUInt32LE(value, at);
        } else if (bytesPerPixel === 2) {
          if (pf.bigEndian) out.writeUInt16BE(value & 0xffff, at);
          else out.writeUInt16LE(value & 0xffff, at);
        } else out.writeUInt8(value & 0xff, at);
        at += bytesPerPixel;
      }
    }
    this.events.send(out);
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
