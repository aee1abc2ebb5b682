// tsc emits only JavaScript; files that modules read next to themselves at run time (such as
// src/adapters/azure/cloud-init/arc-onboarding.yaml.tpl) are copied to the same place under dist/.
import { cpSync, statSync } from 'node:fs';
import { extname } from 'node:path';

const notAssets = new Set(['.ts', '.md']);
cpSync('src', 'dist', { recursive: true, filter: (path) => statSync(path).isDirectory() || !notAssets.has(extname(path)) });
