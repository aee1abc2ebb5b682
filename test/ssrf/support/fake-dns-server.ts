import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';

/** What the fake server answers for a name: records, an error code, or silence (a timeout). */
export type Zone = Readonly<Record<string, { A?: readonly string[]; AAAA?: readonly string[] } | 'servfail' | 'silent'>>;

/** A minimal authoritative DNS server over UDP on 127.0.0.1, for the resolver adapter's tests. */
export interface FakeDnsServer {
  readonly address: string;
  readonly queries: Array<{ name: string; type: number }>;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    const len = msg[i] ?? 0;
    if (len === 0) break;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += len + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function v6Bytes(text: string): Buffer {
  const [head = '', tail = ''] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === '' ? [] : tail.split(':');
  const words = text.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  words.forEach((w, i) => out.writeUInt16BE(Number.parseInt(w, 16), i * 2));
  return out;
}

function answer(query: Buffer, zone: Zone): Buffer | undefined {
  const { name, end } = readName(query, 12);
  const type = query.readUInt16BE(end);
  const question = query.subarray(12, end + 4);
  const entry = zone[name];
  if (entry === 'silent') return undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  if (entry === 'servfail') {
    header.writeUInt16BE(0x8182, 2);
    header.writeUInt16BE(1, 4);
    return Buffer.concat([header, question]);
  }
  if (entry === undefined) {
    header.writeUInt16BE(0x8183, 2); // NXDOMAIN
    header.writeUInt16BE(1, 4);
    return Buffer.concat([header, question]);
  }
  const records = (type === TYPE_A ? entry.A : type === TYPE_AAAA ? entry.AAAA : undefined) ?? [];
  header.writeUInt16BE(0x8580, 2); // authoritative answer, no error
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(records.length, 6);
  const answers = records.map((ip) => {
    const rdata = isIPv4(ip) ? Buffer.from(ip.split('.').map(Number)) : v6Bytes(ip);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0);
    rr.writeUInt16BE(type, 2);
    rr.writeUInt16BE(1, 4);
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...answers]);
}

export async function startFakeDns(zone: Zone): Promise<FakeDnsServer> {
  const socket: Socket = createSocket('udp4');
  const queries: Array<{ name: string; type: number }> = [];
  socket.on('message', (msg, rinfo) => {
    try {
      const { name, end } = readName(msg, 12);
      queries.push({ name, type: msg.readUInt16BE(end) });
      const reply = answer(msg, zone);
      if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address);
    } catch {
      // A malformed query gets no answer, like a real server under attack would.
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    queries,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
