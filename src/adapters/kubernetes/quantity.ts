/** Kubernetes resource quantities (`500m`, `8`, `16Gi`, `1e3`), parsed and formatted for tenant figures. */

const BINARY: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The value of a quantity in base units (cores, bytes, items). Throws on a malformed quantity. */
export function parseQuantity(q: string): number {
  const m = QUANTITY.exec(q.trim());
  if (m === null) throw new RangeError(`not a Kubernetes quantity: '${q}'`);
  const mantissa = Number(m[1]);
  if (m[2] !== undefined) return mantissa * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  return mantissa * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
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

/** Rounds up to 1/1000 (tolerating float noise), never answering -0. */
function ceilThousandths(v: number): number {
  const r = Math.ceil(v * 1000 - 1e-9) / 1000;
  return r === 0 ? 0 : r;
}

/** Cores from a quantity, rounded up to the millicore. */
export function cpuFromQuantity(q: string): number {
  return ceilThousandths(parseQuantity(q));
}

/** GiB from a quantity, rounded up to 1/1000 GiB so a non-zero usage never reads as zero. */
export function giFromQuantity(q: string): number {
  return ceilThousandths(parseQuantity(q) / 2 ** 30);
}

/** A count from a quantity (`5`, `1k`). */
export function countFromQuantity(q: string): number {
  return Math.round(parseQuantity(q));
}
