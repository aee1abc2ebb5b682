import type { Directory } from '../../domain/lti/ports.js';
import type { AzureIdentitySettings } from '../azure/credentials.js';
import { createGraphDirectory, type GraphDirectoryOptions } from './graph-directory.js';

export { createGraphDirectory, GRAPH_BASE_URL, GRAPH_BATCH_LIMIT, GRAPH_SCOPE, odataString, type GraphDirectoryOptions } from './graph-directory.js';

/**
 * The Graph directory with a credential built from settings (the same kinds as the control plane's
 * ARM identity). The Azure SDK (@azure/identity) is loaded only when this is called, so the
 * embedded default (simulated directory) never loads it.
 */
export async function loadGraphDirectory(
  settings: AzureIdentitySettings,
  options: Omit<GraphDirectoryOptions, 'credential'> = {},
): Promise<Directory> {
  const { createControlPlaneCredential } = await import('../azure/credentials.js');
  return createGraphDirectory({ ...options, credential: createControlPlaneCredential(settings) });
}
