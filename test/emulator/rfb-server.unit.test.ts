import { describe, expect, test } from 'vitest';
import { Framebuffer, RfbConnection } from '../../src/adapters/sim/kube-emulator/rfb-server.js';

function connection() {
  const sent: Buffer[] = [];
  const closed: string[] = [];
  const fb = new Framebuffer(4, 2);
  fb.fill(0, 0, 4, 2, [255, 0, 0]);
  const rfb = new RfbConnection(fb, 'desk', { send: (b) => sent.push(b), close: (r) => closed.push(r) });
  return { rfb, sent, closed, take: () => Buffer.concat(sent.splice(0)) };
}

describe('RFB server handshakes (RFC 6143 §7.1)', () => {
  test('3.3: the server decides security None (u32), no SecurityResult', () => {
    const { rfb, take } = connection();
    expect(take().toString('latin1')).toBe('RFB 003.008\n');
    rfb.receive(Buffer.from('RFB 003.003\n', 'latin1'));
    expect(take().readUInt32BE(0)).toBe(1);
    rfb.receive(Buffer.from([0]));
    expect(take().readUInt16BE(0)).toBe(4);
  });

  test('3.7: None is chosen from the list and no SecurityResult follows', () => {
    const { rfb, take } = connection();
    take();
    rfb.receive(Buffer.from('RFB 003.007\n', 'latin1'));
    expect([...take()]).toEqual([1, 1]);
    rfb.receive(Buffer.from([1]));
    expect(take().length).toBe(0);
  });

  test('3.8: a security type not offered is refused with a reason and ends the connection', () => {
    const { rfb, take, closed } = connection();
    take();
    rfb.receive(Buffer.from('RFB 003.008\n', 'latin1'));
    take();
    rfb.receive(Buffer.from([2]));
    const res = take();
    expect(res.readUInt32BE(0)).toBe(1);
    expect(res.subarray(8).toString('latin1')).toBe('security type not offered');
    expect(closed).toHaveLength(1);
  });

  test('not RFB at all ends the connection', () => {
    const { rfb, closed } = connection();
    rfb.receive(Buffer.from('GET / HTTP/1.1\r\n', 'latin1'));
    expect(closed).toEqual(['not an RFB 3.x ProtocolVersion']);
  });
});

describe('RFB pixel formats', () => {
  function ready() {
    const c = connection();
    c.rfb.receive(Buffer.from('RFB 003.008\n', 'latin1'));
    c.rfb.receive(Buffer.from([1, 1]));
    c.take();
    return c;
  }
  const full = Buffer.from([3, 0, 0, 0, 0, 0, 0, 4, 0, 2]);

  test('the server format: 32 bpp little-endian xRGB', () => {
    const { rfb, take } = ready();
    rfb.receive(full);
    const out = take();
    expect(out.length).toBe(16 + 8 * 4);
    expect(out.readUInt32LE(16)).toBe(0xff0000);
  });

  test('16 bpp big-endian RGB565 as asked by SetPixelFormat', () => {
    const { rfb, take } = ready();
    const pf = Buffer.alloc(20);
    Buffer.from([16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0]).copy(pf, 4);
    rfb.receive(Buffer.concat([pf, full]));
    const out = take();
    expect(out.length).toBe(16 + 8 * 2);
    expect(out.readUInt16BE(16)).toBe(31 << 11);
  });

  test('a colour-map format is refused', () => {
    const { rfb, closed } = ready();
    const pf = Buffer.alloc(20);
    Buffer.from([8, 8, 0, 0]).copy(pf, 4);
    rfb.receive(pf);
    expect(closed).toEqual(['colour-map pixel formats are not supported']);
  });

  test('ClientCutText is read whole (paste), then the next message is handled', () => {
    const cut: string[] = [];
    const fb = new Framebuffer(1, 1);
    const sent: Buffer[] = [];
    const rfb = new RfbConnection(fb, 'd', { send: (b) => sent.push(b), close: () => undefined, cutText: (t) => cut.push(t) });
    rfb.receive(Buffer.from('RFB 003.008\n', 'latin1'));
    rfb.receive(Buffer.from([1, 1]));
    sent.length = 0;
    const text = Buffer.from('pasted', 'latin1');
    const msg = Buffer.alloc(8);
    msg.writeUInt8(6, 0);
    msg.writeUInt32BE(text.length, 4);
    rfb.receive(Buffer.concat([msg, text, Buffer.from([3, 0, 0, 0, 0, 0, 0, 1, 0, 1])]));
    expect(cut).toEqual(['pasted']);
    expect(sent).toHaveLength(1);
  });
});
