import { formatIp, parseIpLiteral, type IpBytes } from './ip-address.js';

/** Why an address may not be the target of an outbound request. */
export interface ForbiddenAddress {
  /** Short category, stable for tests and logs: `loopback`, `private`, `link-local`, ... */
  readonly category: string;
  /** The range it falls in, e.g. `127.0.0.0/8`, or for tunnelled forms the outer range too. */
  readonly range: string;
}

interface Range {
  readonly bytes: IpBytes;
  readonly prefix: number;
  readonly cidr: string;
  readonly category: string;
}

function range(cidr: string, category: string): Range {
  const [addr = '', len = ''] = cidr.split('/');
  const bytes = parseIpLiteral(addr);
  if (bytes === undefined) throw new Error(`bad range ${cidr}`);
  return { bytes, prefix: Number(len), cidr, category };
}

function within(bytes: IpBytes, r: Range): boolean {
  if (bytes.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((r.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

let v4Ranges: readonly Range[] | undefined;
let v6Ranges: readonly Range[] | undefined;

/** IPv4 ranges never reachable from the guard (built on first use, nothing at import time). */
function ipv4Ranges(): readonly Range[] {
  v4Ranges ??= [
    range('0.0.0.0/8', 'unspecified'),
    range('10.0.0.0/8', 'private'),
    range('100.64.0.0/10', 'shared address space (CGNAT)'),
    range('127.0.0.0/8', 'loopback'),
    range('168.63.129.16/32', 'Azure platform (wireserver)'),
    range('169.254.0.0/16', 'link-local / cloud metadata'),
    range('172.16.0.0/12', 'private'),
    range('192.0.0.0/24', 'IETF protocol assignments'),
    range('192.0.2.0/24', 'documentation'),
    range('192.88.99.0/24', '6to4 relay anycast'),
    range('192.168.0.0/16', 'private'),
    range('198.18.0.0/15', 'benchmarking'),
    range('198.51.100.0/24', 'documentation'),
    range('203.0.113.0/24', 'documentation'),
    range('224.0.0.0/4', 'multicast'),
    range('240.0.0.0/4', 'reserved / broadcast'),
  ];
  return v4Ranges;
}

function ipv6Ranges(): readonly Range[] {
  v6Ranges ??= [
    range('::/128', 'unspecified'),
    range('::1/128', 'loopback'),
    range('100::/64', 'discard-only'),
    range('64:ff9b:1::/48', 'local-use NAT64'),
    range('2001::/32', 'Teredo tunnel'),
    range('2001:2::/48', 'benchmarking'),
    range('2001:10::/28', 'ORCHID'),
    range('2001:20::/28', 'ORCHID'),
    range('2001:db8::/32', 'documentation'),
    range('3fff::/20', 'documentation'),
    range('fc00::/7', 'unique local (private)'),
    range('fe80::/10', 'link-local'),
    range('fec0::/10', 'site-local'),
    range('ff00::/8', 'multicast'),
  ];
  return v6Ranges;
}

function v4At(bytes: IpBytes, offset: number): IpBytes {
  return bytes.slice(offset, offset + 4);
}

function startsWith(bytes: IpBytes, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

const ZERO_80 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * IPv6 forms that carry an IPv4 address: mapped `::ffff:a.b.c.d`, translated `::ffff:0:a.b.c.d`,
 * compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` and 6to4 `2002:AABB:CCDD::`.
 */
function embeddedIpv4(bytes: IpBytes): { v4: IpBytes; form: string } | undefined {
  if (startsWith(bytes, [...ZERO_80, 0xff, 0xff])) return { v4: v4At(bytes, 12), form: 'IPv4-mapped IPv6' };
  if (startsWith(bytes, [...ZERO_80.slice(0, 8), 0xff, 0xff, 0, 0])) {
    return { v4: v4At(bytes, 12), form: 'IPv4-translated IPv6' };
  }
  if (startsWith(bytes, [...ZERO_80, 0, 0])) return { v4: v4At(bytes, 12), form: 'IPv4-compatible IPv6' };
  if (startsWith(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) {
    return { v4: v4At(bytes, 12), form: 'NAT64 (64:ff9b::/96)' };
  }
  if (startsWith(bytes, [0x20, 0x02])) return { v4: v4At(bytes, 2), form: '6to4 (2002::/16)' };
  return undefined;
}

/**
 * Says why an address is forbidden, or `undefined` when it is a public unicast address.
 * IPv6 forms embedding an IPv4 address are judged by the embedded address; the deprecated
 * IPv4-compatible form is refused whatever it embeds.
 */
export function classifyAddress(bytes: IpBytes): ForbiddenAddress | undefined {
  if (bytes.length === 4) {
    const hit = ipv4Ranges().find((r) => within(bytes, r));
    return hit === undefined ? undefined : { category: hit.category, range: hit.cidr };
  }
  if (bytes.length !== 16) return { category: 'malformed', range: 'n/a' };
  const direct = ipv6Ranges().find((r) => within(bytes, r));
  if (direct !== undefined) return { category: direct.category, range: direct.cidr };
  const embedded = embeddedIpv4(bytes);
  if (embedded === undefined) return undefined;
  const inner = classifyAddress(embedded.v4);
  if (inner !== undefined) {
    return { category: inner.category, range: `${embedded.form} of ${formatIp(embedded.v4)} (${inner.range})` };
  }
  if (embedded.form === 'IPv4-compatible IPv6' || embedded.form === 'IPv4-translated IPv6') {
    return { category: 'deprecated tunnelled form', range: embedded.form };
  }
  return undefined;
}
