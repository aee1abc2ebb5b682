// Writes the GraphQL schema the API serves, as SDL, to graphql/schema.graphql (beside openapi/); with --check, fails when
// the checked-in file differs from it (CI), like the OpenAPI drift check. The schema is taken from
// the app itself (the embedded default, in memory: no cluster, no Redis), so every module's types
// are in it exactly as served.
import { readFileSync, writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';

export const SDL_PATH = 'graphql/schema.graphql';

/** The SDL of the schema the app builds. */
export async function servedSdl(): Promise<string> {
  const config = loadConfig({ LOG_LEVEL: 'silent', MAX_EVENT_LOOP_DELAY_MS: '0' });
  const deps = await buildDeps(config, createLogger(config));
  try {
    const app = await buildAppFromDeps(deps);
    await app.ready();
    const sdl = `${printSchema(app.graphql.schema)}\n`;
    await app.close();
    return sdl;
  } finally {
    await deps.jobs.engine.stop({ graceMs: 0 });
    await deps.close();
  }
}

const check = process.argv.includes('--check');
const fresh = await servedSdl();
let current = '';
try {
  current = readFileSync(SDL_PATH, 'utf8');
} catch {
  // A missing file is written (or reported) like a stale one.
}
if (check) {
  if (fresh !== current) {
    console.error(`${SDL_PATH} is out of date with the GraphQL schema the API serves: run 'npm run graphql:generate' and commit the result`);
    process.exit(1);
  }
  console.log(`graphql drift: ${SDL_PATH} matches the served schema`);
} else if (fresh !== current) {
  writeFileSync(SDL_PATH, fresh);
  console.log(`wrote ${SDL_PATH}`);
}
process.exit(0);
