import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endsInNumber, formatIp, parseIpv4Any, parseIpv6 } from '../../src/domain/net/ip-address.js';
import { classifyAddress } from '../../src/domain/net/ip-ranges.js';

function whatwgHost(host: string): string | undefined {
  try {
    return new URL(`http://${host}/`).hostname;
  } catch {
    return undefined;
  }
}

describe('IP parsing agrees with the WHATWG URL parser', () => {
  it('reads every numeric IPv4 host exactly as WHATWG does (or refuses it as WHATWG does)', () => {
    const host = fc.string({ unit: fc.constantFrom(...'0123456789abcdefxX.'.split('')), minLength: 1, maxLength: 24 });
    fc.assert(
      fc.property(host, (h) => {
        if (!endsInNumber(h)) {
          // Not numeric to us: WHATWG must not read it as an address either.
          const theirs = whatwgHost(h);
          expect(theirs === undefined || theirs === h.toLowerCase()).toBe(true);
          return;
        }
        const ours = parseIpv4Any(h);
        const theirs = whatwgHost(h);
        expect(ours === undefined ? undefined : formatIp(ours)).toBe(theirs);
      }),
      { numRuns: 3000 },
    );
  });

  it('formats and parses IPv6 addresses exactly as WHATWG serialises them', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.array(fc.constantFrom(0, 0, 0, 1, 255), { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a)),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const text = formatIp(b);
        expect(whatwgHost(`[${text}]`)).toBe(`[${text}]`);
        expect(parseIpv6(text)).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('parses IPv6 literals written with leading zeros, full form and embedded dotted quads', () => {
    const cases: Array<[string, string]> = [
      ['0:0:0:0:0:0:0:1', '::1'],
      ['0000:0000:0000:0000:0000:ffff:7f00:0001', '::ffff:7f00:1'],
      ['::ffff:127.0.0.1', '::ffff:7f00:1'],
      ['64:ff9b::192.168.1.1', '64:ff9b::c0a8:101'],
      ['2001:DB8::1', '2001:db8::1'],
      ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ];
    for (const [input, canonical] of cases) {
      const b = parseIpv6(input);
      expect(b && formatIp(b)).toBe(canonical);
      expect(whatwgHost(`[${input}]`)).toBe(`[${canonical}]`);
    }
    for (const bad of ['1::2::3', ':::', '12345::', '::ffff:1.2.3', '::ffff:01.2.3.4', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'g::1']) {
      expect(parseIpv6(bad)).toBeUndefined();
    }
  });

  it('classifies the landmark addresses', () => {
    const v4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
    expect(classifyAddress(v4('127.0.0.1'))?.category).toBe('loopback');
    expect(classifyAddress(v4('168.63.129.16'))?.category).toMatch(/wireserver/);
    expect(classifyAddress(v4('168.63.129.17'))).toBeUndefined();
    expect(classifyAddress(v4('172.32.0.1'))).toBeUndefined();
    expect(classifyAddress(v4('100.128.0.1'))).toBeUndefined();
    expect(classifyAddress(v4('172.15.255.255'))).toBeUndefined();
    expect(classifyAddress(v4('223.255.255.255'))).toBeUndefined();
  });
});
