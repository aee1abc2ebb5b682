/**
 * IP address parsing for the outbound-URL guard. Pure functions over ASCII strings; every parser
 * returns `undefined` for input it does not understand instead of throwing.
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

function parseIpv4Number(part: string): number | undefined {
  if (part === '') return undefined;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits === '') return 0;
    if (!/^[0-9a-f]+$/i.test(digits)) return undefined;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
    if (!/^[0-7]+$/.test(digits)) return undefined;
  } else if (!/^[0-9]+$/.test(digits)) {
    return undefined;
  }
  // Very long digit strings are not addresses; keep the arithmetic exact.
  if (digits.length > 40) return Number.POSITIVE_INFINITY;
  return Number.parseInt(digits, radix);
}

/**
 * True when a host would be read as an IPv4 address by the WHATWG URL parser (and by
 * `inet_aton`-style parsers): its last label is all digits or a `0x` hex number.
 */
export function endsInNumber(host: string): boolean {
  const parts = host.split('.');
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop();
  const last = parts[parts.length - 1] ?? '';
  if (last !== '' && /^[0-9]+$/.test(last)) return true;
  return /^0x[0-9a-f]*$/i.test(last);
}

/**
 * Parses any numeric IPv4 form the WHATWG URL standard and `inet_aton` accept: 1 to 4 parts,
 * each decimal, octal (leading `0`) or hex (`0x`), the last part filling the remaining bytes
 * (`127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`). One trailing dot is tolerated.
 */
export function parseIpv4Any(host: string): IpBytes | undefined {
  const parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const p of parts) {
    const n = parseIpv4Number(p);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop() ?? 0;
  if (numbers.some((n) => n > 255)) return undefined;
  if (last >= 256 ** (4 - numbers.length)) return undefined;
  let value = last;
  numbers.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return new Uint8Array([(value >>> 24) & 255, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]);
}

/** Strict dotted-quad (`93.184.216.34`): four decimal parts, no leading zeros, nothing else. */
export function parseIpv4Canonical(host: string): IpBytes | undefined {
  const parts = host.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? '';
    if (!DECIMAL.test(p) || p.length > 3) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    bytes[i] = n;
  }
  return bytes;
}

/**
 * Parses an IPv6 literal without brackets (`::1`, `::ffff:127.0.0.1`, `64:ff9b::a00:1`).
 * Zone identifiers (`fe80::1%eth0`) are not accepted.
 */
export function parseIpv6(text: string): IpBytes | undefined {
  if (text.length === 0 || text.length > 45 || !/^[0-9a-f:.]+$/i.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    const groups = s.split(':');
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] ?? '';
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4Canonical(g);
        if (v4 === undefined) return undefined;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
      } else {
        if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const tail = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const total = head.length + tail.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const words = [...head, ...new Array<number>(8 - total).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((w, i) => {
    bytes[2 * i] = w >> 8;
    bytes[2 * i + 1] = w & 255;
  });
  return bytes;
}

/** Parses a resolver answer or a canonical literal: dotted-quad IPv4 or IPv6 (brackets allowed). */
export function parseIpLiteral(text: string): IpBytes | undefined {
  if (text.startsWith('[') && text.endsWith(']')) return parseIpv6(text.slice(1, -1));
  return parseIpv4Canonical(text) ?? (text.includes(':') ? parseIpv6(text) : undefined);
}

/** Dotted-quad for 4 bytes, RFC 5952 compressed form for 16. */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return Array.from(bytes).join('.');
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
