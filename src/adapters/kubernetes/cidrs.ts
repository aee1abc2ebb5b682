import { isIP } from 'node:net';

/**
 * Checks CIDRs given in configuration (`10.244.0.0/16`, `fd00::/8`); returns them trimmed, or throws
 * a TypeError naming the first bad one, so a typo stops start-up instead of weakening a NetworkPolicy.
 */
export function validateCidrs(cidrs: readonly string[]): string[] {
  return cidrs.map((raw) => {
    const cidr = raw.trim();
    const [addr, prefix, extra] = cidr.split('/');
    const family = isIP(addr ?? '');
    const bits = Number(prefix);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || extra !== undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix) || bits > max) {
      throw new TypeError(`not a CIDR: '${raw}' (expected e.g. 10.244.0.0/16 or fd00::/8)`);
    }
    if (family === 4 && bits === 0) throw new TypeError(`'${raw}' would block all IPv4 egress`);
    if (family === 6 && bits === 0) throw new TypeError(`'${raw}' would block all IPv6 egress`);
    return cidr;
  });
}
