/**
 * Kubernetes resource quantities (`500m`, `8`, `16Gi`, `1e3`): the one parser of the code base, used by
 * the adapters (tenant figures) and by the emulator (quota admission, validation). Exact: a quantity is
 * held as an integer number of milli-units, so sums and comparisons do not drift as floats would.
 */

/** How a quantity was written; sums are rendered in the format of their first operand. */
export type QuantityFormat = 'BinarySI' | 'DecimalSI' | 'DecimalExponent';

/**
 * A Kubernetes resource quantity held exactly as an integer number of milli-units (so `500m` CPU is
 * 500n, `1Gi` is 1073741824000n). Like Kubernetes, precision below one milli-unit is rounded up
 * (away from zero): `0.1m` becomes `1m`.
 */
export interface Quantity {
  milli: bigint;
  format: QuantityFormat;
}

/** Thrown for strings that are not quantities. */
export class QuantityError extends RangeError {
  constructor(input: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${input}"`);
    this.name = 'QuantityError';
  }
}

const PATTERN = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?$/;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIXES = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const DECIMAL_SUFFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

function pow(base: bigint, exp: number): bigint {
  return base ** BigInt(exp);
}

/** Divides rounding away from zero. */
function divUp(n: bigint, d: bigint): bigint {
  const q = n / d;
  return n % d === 0n ? q : n > 0n ? q + 1n : q - 1n;
}

/** Parses a quantity string (`500m`, `2`, `4Gi`, `1G`, `1.5`, `1e3`) or a JSON number. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  const m = PATTERN.exec(text);
  if (!m) throw new QuantityError(String(input));
  const sign = m[1] === '-' ? -1n : 1n;
  const numberPart = m[2] ?? '0';
  const suffix = m[3] ?? '';
  const [intPart = '', fracPart = ''] = numberPart.split('.');
  const mantissa = BigInt((intPart || '0') + fracPart) * sign;
  let exp10 = 3 - fracPart.length;
  let mult = 1n;
  let format: QuantityFormat = 'DecimalSI';
  const binary = BINARY[suffix];
  if (binary !== undefined) {
    mult = pow(1024n, binary);
    format = 'BinarySI';
  } else if (suffix.length > 1 && (suffix[0] === 'e' || suffix[0] === 'E')) {
    exp10 += Number(suffix.slice(1));
    format = 'DecimalExponent';
  } else {
    exp10 += DECIMAL[suffix] ?? 0;
  }
  const scaled = mantissa * mult;
  const milli = exp10 >= 0 ? scaled * pow(10n, exp10) : divUp(scaled, pow(10n, -exp10));
  return { milli, format };
}

function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = String(n);
  return s.includes('e') ? s.replace('e+', 'e') : s;
}

/** True when the input parses as a quantity. */
export function isQuantity(input: unknown): boolean {
  if (typeof input !== 'string' && typeof input !== 'number') return false;
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

/** The value in base units as a JS number (may lose precision above 2^53). */
export function quantityValue(q: Quantity): number {
  return Number(q.milli) / 1000;
}

/** -1, 0 or 1. */
export function compareQuantities(a: Quantity, b: Quantity): number {
  return a.milli < b.milli ? -1 : a.milli > b.milli ? 1 : 0;
}

/** a + b, in the format of a. */
export function addQuantities(a: Quantity, b: Quantity): Quantity {
  return { milli: a.milli + b.milli, format: a.format };
}

/** A zero quantity of the given format. */
export function zeroQuantity(format: QuantityFormat = 'DecimalSI'): Quantity {
  return { milli: 0n, format };
}

/** Canonical string form, as Kubernetes renders it: `500m`, `2`, `4Gi`, `1500M`, `8k`. */
export function formatQuantity(q: Quantity): string {
  const { milli } = q;
  if (milli === 0n) return '0';
  if (milli % 1000n !== 0n) return `${milli}m`;
  const value = milli / 1000n;
  if (q.format === 'BinarySI') return withLargestSuffix(value, 1024n, BINARY_SUFFIXES);
  if (q.format === 'DecimalExponent') {
    let exp = 0;
    let v = value;
    while (v % 1000n === 0n) {
      v /= 1000n;
      exp += 3;
    }
    return exp === 0 ? `${v}` : `${v}e${exp}`;
  }
  return withLargestSuffix(value, 1000n, DECIMAL_SUFFIXES);
}

function withLargestSuffix(value: bigint, base: bigint, suffixes: string[]): string {
  let v = value;
  let i = 0;
  while (i < suffixes.length - 1 && v % base === 0n) {
    v /= base;
    i += 1;
  }
  return `${v}${suffixes[i] ?? ''}`;
}

/** CPU cores as a quantity: whole numbers plain (`8`), fractions in millicores (`500m`). */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Whole GiB as a binary quantity (`16Gi`). */
export function formatGi(gi: number): string {
  return `${gi}Gi`;
}

/** Cores from a quantity, rounded up to the millicore (the parser's precision). */
export function cpuFromQuantity(q: string): number {
  return Number(parseQuantity(q).milli) / 1000;
}

/** GiB from a quantity, rounded up to 1/1000 GiB so a non-zero usage never reads as zero. */
export function giFromQuantity(q: string): number {
  return Number(divUp(parseQuantity(q).milli, 2n ** 30n)) / 1000;
}

/** A count from a quantity (`5`, `1k`). */
export function countFromQuantity(q: string): number {
  return Math.round(quantityValue(parseQuantity(q)));
}
