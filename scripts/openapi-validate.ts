// Validates openapi/openapi.yaml against the OpenAPI 3.1 meta-schema and our own rules:
// every operation has an operationId and declares the permission it needs (x-permission).
import { Validator } from '@seriousme/openapi-schema-validator';
import { PERMISSIONS } from '../src/domain/auth/policy.js';
import { loadOpenApi, OPENAPI_PATH, specOperations } from '../src/api/openapi-spec.js';

const validator = new Validator();
const result = await validator.validate(OPENAPI_PATH);
const problems: string[] = [];
if (!result.valid) problems.push(`not valid OpenAPI: ${JSON.stringify(result.errors, null, 2)}`);
const doc = loadOpenApi();
if (!doc.openapi.startsWith('3.1')) problems.push(`expected OpenAPI 3.1, found ${doc.openapi}`);
const ids = new Set<string>();
for (const op of specOperations(doc)) {
  if (ids.has(op.operationId)) problems.push(`${op.method.toUpperCase()} ${op.path}: duplicate operationId ${op.operationId}`);
  ids.add(op.operationId);
  if (op.permission !== 'public' && !(PERMISSIONS as readonly string[]).includes(op.permission)) {
    problems.push(`${op.method.toUpperCase()} ${op.path}: x-permission '${op.permission}' is not a known permission`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`openapi: valid ${validator.version} document, ${ids.size} operations, each with a permission`);
