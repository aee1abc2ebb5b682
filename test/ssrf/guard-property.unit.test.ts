import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import { checkOutboundUrl } from '../../src/domain/net/outbound-url.js';
import { UnprocessableError } from '../../src/domain/shared/errors.js';
import { IMPORT_POLICY } from './support/guard-fixture.js';

/** The test's own oracle, written from the IANA special-purpose registries, not from the guard. */
const FORBIDDEN_V4: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['168.63.129.16', 32],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
/** Not the point of the brief, but not public either: excluded from the "public" generator. */
const OTHER_SPECIAL_V4: ReadonlyArray<readonly [string, number]> = [
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
];

const toUint = (dotted: string) => dotted.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
const octets = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255] as const;
const dotted = (n: number) => octets(n).join('.');
const hex16 = (n: number) => [(n >>> 16).toString(16), (n & 0xffff).toString(16)].join(':');
const inRange = (n: number, [base, bits]: readonly [string, number]) => bits === 0 || n >>> (32 - bits) === toUint(base) >>> (32 - bits);

const forbiddenV4 = fc
  .constantFrom(...FORBIDDEN_V4)
  .chain(([base, bits]) => fc.integer({ min: 0, max: 2 ** (32 - bits) - 1 }).map((off) => (toUint(base) + off) >>> 0));

const publicV4 = fc.integer({ min: 0, max: 0xffffffff }).filter((n) => ![...FORBIDDEN_V4, ...OTHER_SPECIAL_V4].some((r) => inRange(n, r)));

type Encoding = (n: number, pick: number) => string;
const partIn = (v: number, style: number) => (style === 0 ? String(v) : style === 1 ? `0${v.toString(8)}` : `0x${v.toString(16)}`);

/** Host renderings of an IPv4 address (as they appear between `//` and the path). */
const ENCODINGS: Readonly<Record<string, Encoding>> = {
  dotted: (n) => dotted(n),
  decimal: (n) => String(n),
  octal: (n) => `0${n.toString(8)}`,
  hex: (n) => `0x${n.toString(16)}`,
  hexUpper: (n) => `0X${n.toString(16).toUpperCase()}`,
  octalDotted: (n) =>
    octets(n)
      .map((o) => `0${o.toString(8)}`)
      .join('.'),
  hexDotted: (n) =>
    octets(n)
      .map((o) => `0x${o.toString(16)}`)
      .join('.'),
  mixedDotted: (n, pick) =>
    octets(n)
      .map((o, i) => partIn(o, Math.floor(pick / 3 ** i) % 3))
      .join('.'),
  short3: (n, pick) => {
    const [a, b] = octets(n);
    return `${partIn(a, pick % 3)}.${partIn(b, 0)}.${partIn(n & 0xffff, Math.floor(pick / 3) % 3)}`;
  },
  short2: (n, pick) => `${partIn(n >>> 24, pick % 3)}.${partIn(n & 0xffffff, Math.floor(pick / 3) % 3)}`,
  trailingDot: (n) => `${dotted(n)}.`,
  mappedDotted: (n) => `[::ffff:${dotted(n)}]`,
  mappedHex: (n) => `[::ffff:${hex16(n)}]`,
  mappedLong: (n) => `[0:0:0:0:0:ffff:${hex16(n)}]`,
  nat64: (n) => `[64:ff9b::${hex16(n)}]`,
  sixToFour: (n) => `[2002:${hex16(n)}::1]`,
};

const encodedForbidden = fc.record({
  n: forbiddenV4,
  encoding: fc.constantFrom(...Object.keys(ENCODINGS)),
  pick: fc.integer({ min: 0, max: 80 }),
  form: fc.constantFrom('https-path', 'https-port', 'docker', 'docker-port', 'http'),
});

function urlFor(host: string, form: string): string {
  switch (form) {
    case 'https-port':
      return `https://${host}:8443/disk.img`;
    case 'docker':
      return `docker://${host}/org/image:1`;
    case 'docker-port':
      return `docker://${host}:5000/image`;
    case 'http':
      return `http://${host}/disk.img`;
    default:
      return `https://${host}/images/disk.img`;
  }
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => v,
    (e: unknown) => e,
  );
}

describe('outbound URL guard: properties', () => {
  it('refuses every forbidden IPv4 address in every encoding and URL form, without DNS', async () => {
    await fc.assert(
      fc.asyncProperty(encodedForbidden, async ({ n, encoding, pick, form }) => {
        const encode = ENCODINGS[encoding];
        if (encode === undefined) throw new Error(encoding);
        const resolver = createMemoryResolver();
        const result = await outcome(checkOutboundUrl(urlFor(encode(n, pick), form), IMPORT_POLICY, resolver));
        expect(result).toBeInstanceOf(UnprocessableError);
        expect(resolver.lookups).toEqual([]);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every public IPv4 address written as a dotted quad, and pins exactly it', async () => {
    await fc.assert(
      fc.asyncProperty(publicV4, fc.boolean(), async (n, docker) => {
        const url = docker ? `docker://${dotted(n)}:5000/img:1` : `https://${dotted(n)}/disk.img`;
        const v = await checkOutboundUrl(url, IMPORT_POLICY, createMemoryResolver());
        expect(v.addresses).toEqual([dotted(n)]);
        expect(v.host).toBe(dotted(n));
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a public name as soon as any of its addresses is forbidden, and accepts it otherwise', async () => {
    const answers = fc.array(
      fc.oneof(
        publicV4.map((n) => ({ n, bad: false })),
        forbiddenV4.map((n) => ({ n, bad: true })),
      ),
      {
        minLength: 1,
        maxLength: 6,
      },
    );
    const asText = fc.boolean();
    await fc.assert(
      fc.asyncProperty(answers, asText, async (list, mapped) => {
        const text = list.map(({ n }) => (mapped ? `::ffff:${dotted(n)}` : dotted(n)));
        const resolver = createMemoryResolver({ 'files.example.net': text });
        const result = await outcome(checkOutboundUrl('https://files.example.net/disk.img', IMPORT_POLICY, resolver));
        if (list.some((a) => a.bad)) {
          expect(result).toBeInstanceOf(UnprocessableError);
        } else {
          expect(result).not.toBeInstanceOf(Error);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses random addresses in the IPv6 loopback, ULA, link-local and multicast ranges', async () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map((g) => g.toString(16));
    const v6 = fc.oneof(
      fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), fc.array(group, { minLength: 7, maxLength: 7 })),
      fc.tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), fc.array(group, { minLength: 7, maxLength: 7 })),
      fc.tuple(fc.integer({ min: 0xff00, max: 0xffff }), fc.array(group, { minLength: 7, maxLength: 7 })),
    );
    await fc.assert(
      fc.asyncProperty(v6, async ([first, rest]) => {
        const host = `[${[first.toString(16), ...rest].join(':')}]`;
        const result = await outcome(checkOutboundUrl(`https://${host}/x`, IMPORT_POLICY, createMemoryResolver()));
        expect(result).toBeInstanceOf(UnprocessableError);
      }),
      { numRuns: 500 },
    );
  });
});
