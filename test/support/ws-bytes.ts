import { WebSocket } from 'ws';

/** The bytes a websocket received, read in order by count or until a text shows up. */
export class ByteReader {
  /** Received and not yet read, kept as chunks (joined only when read: megabytes arrive in small frames). */
  private chunks: Buffer[] = [];
  private length = 0;
  private waiters: Array<() => void> = [];
  private closed: { code: number; reason: string } | undefined;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      this.chunks.push(data);
      this.length += data.length;
      this.wake();
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** Everything unread as one buffer. */
  private get buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private set buffer(rest: Buffer) {
    this.chunks = rest.length === 0 ? [] : [rest];
    this.length = rest.length;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.closed !== undefined) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.buffer.toString('latin1').slice(-200))}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next `n` bytes. */
  async read(n: number, timeoutMs = 30_000): Promise<Buffer> {
    await this.until(() => this.length >= n, `${n} bytes`, timeoutMs);
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return Buffer.from(out);
  }

  /** Everything up to and including the first `text`. */
  async readUntil(text: string, timeoutMs = 30_000): Promise<string> {
    await this.until(() => this.buffer.includes(text, 0, 'latin1'), JSON.stringify(text), timeoutMs);
    const end = this.buffer.indexOf(text, 0, 'latin1') + Buffer.byteLength(text, 'latin1');
    const out = this.buffer.subarray(0, end).toString('latin1');
    this.buffer = this.buffer.subarray(end);
    return out;
  }

  /** Bytes received and not yet read. */
  get pending(): number {
    return this.length;
  }

  /** Resolves with the close code and reason once the socket closed. */
  async closedWith(timeoutMs = 30_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (this.closed === undefined) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.closed;
  }
}

/** Opens a websocket; resolves once open, or rejects with the HTTP status and body of a refused upgrade. */
export async function openWebSocket(
  url: string,
  options: { protocols?: string[]; headers?: Record<string, string> } = {},
): Promise<{ socket: WebSocket; reader: ByteReader }> {
  const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
  const reader = new ByteReader(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => reject(new RefusedUpgrade(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), res.headers['content-type'] ?? '')));
    });
    socket.once('error', reject);
  });
  return { socket, reader };
}

/** An upgrade the server answered with an HTTP response instead of 101. */
export class RefusedUpgrade extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string,
  ) {
    super(`upgrade refused with HTTP ${status}: ${body}`);
  }

  json(): Record<string, unknown> {
    return JSON.parse(this.body) as Record<string, unknown>;
  }
}

/** The refusal of an upgrade that must fail. */
export async function refusedUpgrade(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<RefusedUpgrade> {
  try {
    const { socket } = await openWebSocket(url, options);
    socket.terminate();
  } catch (err) {
    if (err instanceof RefusedUpgrade) return err;
    throw err;
  }
  throw new Error(`the upgrade of ${url} was accepted`);
}
