/**
 * Replaces a vendored upstream API schema with the one of a named release, given as a file (these
 * machines reach no source host): `npm run schemas:refresh -- kubevirt <swagger.json> <ref>` or
 * `... cdi <swagger.json> <ref>`. The file must be the release's `api/openapi-spec/swagger.json`; it
 * is checked for the definitions labplane writes, copied byte for byte into `schemas/`, and its
 * source (repository, ref, sha256) recorded in `schemas/sources.json`. `--check` verifies that every
 * vendored file still matches its recorded sha256 (CI runs it).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSchemasDir } from '../src/adapters/sim/kube-emulator/package-paths.js';

interface Source {
  repository: string;
  path: string;
  ref: string;
  sha256: string;
}

const UPSTREAM = {
  kubevirt: {
    file: 'kubevirt-openapi-v2.json',
    repository: 'kubevirt/kubevirt',
    needs: ['v1.VirtualMachine', 'v1.VirtualMachineInstance', 'v1.VirtualMachineInstanceMigration'],
  },
  cdi: { file: 'cdi-openapi-v2.json', repository: 'kubevirt/containerized-data-importer', needs: ['v1beta1.DataVolume'] },
} as const;

const dir = defaultSchemasDir();
const sourcesPath = join(dir, 'sources.json');
const sources = JSON.parse(readFileSync(sourcesPath, 'utf8')) as Record<string, Source>;
const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function fail(message: string): never {
  process.stderr.write(`schemas: ${message}\n`);
  process.exit(1);
}

const [what, file, ref] = process.argv.slice(2);
if (what === '--check') {
  for (const [name, source] of Object.entries(sources)) {
    const actual = sha256(join(dir, name));
    if (actual !== source.sha256)
      fail(`${name} differs from its recorded source (${source.repository}@${source.ref}): refresh it with this script instead of editing it`);
  }
  process.stdout.write(`schemas: ${Object.keys(sources).length} vendored files match schemas/sources.json\n`);
  process.exit(0);
}
if ((what !== 'kubevirt' && what !== 'cdi') || file === undefined || ref === undefined || ref === '') {
  fail('usage: refresh-schemas (kubevirt|cdi) <swagger.json of the release> <release tag or commit> | --check');
}
const upstream = UPSTREAM[what];
let doc: { swagger?: unknown; definitions?: Record<string, unknown> };
try {
  doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
} catch (err) {
  fail(`${file}: not a readable JSON file (${err instanceof Error ? err.message : String(err)})`);
}
if (doc.swagger !== '2.0' || typeof doc.definitions !== 'object') fail(`${file}: expected a Swagger 2.0 document with definitions`);
const missing = upstream.needs.filter((d) => doc.definitions?.[d] === undefined);
if (missing.length > 0) fail(`${file}: lacks ${missing.join(', ')}; is it ${upstream.repository}'s api/openapi-spec/swagger.json?`);
copyFileSync(file, join(dir, upstream.file));
sources[upstream.file] = { repository: upstream.repository, path: 'api/openapi-spec/swagger.json', ref, sha256: sha256(join(dir, upstream.file)) };
writeFileSync(sourcesPath, `${JSON.stringify(sources, null, 2)}\n`);
process.stdout.write(`schemas: ${upstream.file} is now ${upstream.repository}@${ref}; run npm test to see what the new schema refuses\n`);
