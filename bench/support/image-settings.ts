import { readFileSync } from 'node:fs';

/**
 * How the image runs the API: the Node flags of the Dockerfile's CMD (`node <flags> dist/main/server.js`)
 * and the ENV of its runtime stage, read from the Dockerfile so that a bench cannot drift from it.
 */
export function imageSettings(dockerfile = 'Dockerfile'): { flags: string[]; env: Record<string, string> } {
  const runtime = readFileSync(dockerfile, 'utf8').split(/^FROM .* AS runtime$/m)[1] ?? '';
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(runtime)?.[1] ?? 'null') as string[] | null;
  if (cmd?.[0] !== 'node' || cmd.at(-1) !== 'dist/main/server.js') throw new Error('the Dockerfile has no CMD ["node", ..., "dist/main/server.js"]');
  const env: Record<string, string> = {};
  for (const [, line] of runtime.matchAll(/^ENV (.*)$/gm)) {
    for (const kv of line!.trim().split(/\s+/)) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  }
  return { flags: cmd.slice(1, -1), env };
}
