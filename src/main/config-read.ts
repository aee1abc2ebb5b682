import { z } from 'zod';

/** Thrown by `loadConfig` naming the first bad setting and what was expected of it. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    readonly expected: string,
  ) {
    super(`${setting}: expected ${expected}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
export const int = (min: number, max: number) => z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(min).max(max));
export const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$|^[0-9a-fA-F:]+\/\d{1,3}$/;

export function read<T>(env: Env, name: string, schema: z.ZodType<T>, expected: string): T | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const r = schema.safeParse(raw.trim());
  if (!r.success) throw new ConfigError(name, `${expected}, got '${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}'`);
  return r.data;
}

export function list(env: Env, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
