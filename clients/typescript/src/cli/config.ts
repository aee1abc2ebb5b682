import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `labplane login` keeps between runs. */
export interface StoredConfig {
  readonly url?: string;
  readonly token?: string;
  /** When an Azure AD token expires (ISO 8601); a dev token has none. */
  readonly tokenExpiresOn?: string;
  readonly tenant?: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** `$LABPLANE_CONFIG`, else `$XDG_CONFIG_HOME/labplane/config.json`, else `~/.config/labplane/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = given(env['LABPLANE_CONFIG']);
  if (explicit !== undefined) return explicit;
  const base = env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return join(base, 'labplane', 'config.json');
}

export async function readConfig(path: string): Promise<StoredConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const parsed = JSON.parse(text) as unknown;
  return typeof parsed === 'object' && parsed !== null ? (parsed as StoredConfig) : {};
}

/** Writes the config readable by its owner only (0600, in a 0700 directory): it holds a bearer token. */
export async function writeConfig(path: string, config: StoredConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only to a new file: an existing one is narrowed too.
  await chmod(path, 0o600);
}

export async function removeConfigToken(path: string): Promise<void> {
  const current = await readConfig(path);
  const { token: _token, tokenExpiresOn: _expires, ...rest } = current;
  if (Object.keys(rest).length === 0) await rm(path, { force: true });
  else await writeConfig(path, rest);
}

export interface Connection {
  readonly url: string;
  readonly token: string | undefined;
  readonly tenant: string | undefined;
}

/** A value, or undefined when it is absent or empty (an empty variable counts as unset). */
const given = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/** Flags win over the environment (`LABPLANE_URL`, `LABPLANE_TOKEN`, `LABPLANE_TENANT`), which wins over the config file. */
export function resolveConnection(
  flags: { url?: string; token?: string; tenant?: string },
  env: NodeJS.ProcessEnv,
  stored: StoredConfig,
  now = Date.now(),
): Connection {
  const storedToken = stored.tokenExpiresOn !== undefined && Date.parse(stored.tokenExpiresOn) <= now ? undefined : stored.token;
  return {
    url: given(flags.url) ?? given(env['LABPLANE_URL']) ?? given(stored.url) ?? DEFAULT_URL,
    token: given(flags.token) ?? given(env['LABPLANE_TOKEN']) ?? given(storedToken),
    tenant: given(flags.tenant) ?? given(env['LABPLANE_TENANT']) ?? given(stored.tenant),
  };
}
