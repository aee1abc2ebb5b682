import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A path inside the package this module belongs to: below the nearest ancestor folder holding a
 * `package.json` (the same from `src/` under tsx and vitest and from `dist/` once built), so it does
 * not depend on the working directory.
 */
export function packagePath(segments: readonly string[], from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, ...segments);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot locate ${segments.join('/')}`);
  }
}

/** `deploy/crds`: our custom resource definitions, validated against by the emulator. */
export function defaultCrdsDir(): string {
  return packagePath(['deploy', 'crds']);
}

/** `schemas/`: the vendored KubeVirt and CDI API schemas (see `schemas/README.md` for their source). */
export function defaultSchemasDir(): string {
  return packagePath(['schemas']);
}
