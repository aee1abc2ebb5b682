// Writes the error-code catalogue into openapi/openapi.yaml and docs/errors.md; with --check, fails
// when either differs from what the catalogue renders (CI).
import { readFileSync, writeFileSync } from 'node:fs';
import { renderDoc, withOpenApiCode } from './error-codes-render.js';

const check = process.argv.includes('--check');
const targets: Array<[string, (current: string) => string]> = [
  ['openapi/openapi.yaml', withOpenApiCode],
  ['docs/errors.md', () => renderDoc()],
];
let stale = 0;
for (const [path, render] of targets) {
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // A missing docs/errors.md is written (or reported) like a stale one.
  }
  const fresh = render(current);
  if (fresh === current) continue;
  if (check) {
    console.error(`${path} is out of date with src/domain/shared/error-codes.ts: run 'npm run errors:generate' and commit the result`);
    stale += 1;
  } else {
    writeFileSync(path, fresh);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exit(1);
if (check) console.log('error codes: openapi/openapi.yaml and docs/errors.md match the catalogue');
