import { ConfigError, loadConfig } from '../../src/main/config.js';

/** The ConfigError that loading `env` throws (fails the test when it loads). */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
