// Fails when src/api/generated/openapi.ts is not what openapi-typescript makes of the contract now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const generated = 'src/api/generated/openapi.ts';
const dir = mkdtempSync(join(tmpdir(), 'labplane-drift-'));
try {
  const fresh = join(dir, 'openapi.ts');
  execFileSync('node_modules/.bin/openapi-typescript', ['openapi/openapi.yaml', '-o', fresh], { stdio: 'pipe' });
  const want = readFileSync(fresh, 'utf8');
  const have = readFileSync(generated, 'utf8');
  if (want !== have) {
    console.error(`${generated} is out of date with openapi/openapi.yaml: run 'npm run openapi:generate' and commit the result`);
    process.exit(1);
  }
  console.log(`openapi drift: ${generated} matches openapi/openapi.yaml`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
