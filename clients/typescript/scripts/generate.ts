/**
 * Generates the client's types from the API contract (openapi/openapi.yaml) with openapi-typescript,
 * and the list of POST routes that take an `Idempotency-Key` (the client sends one on those only).
 * `--check` compares instead of writing and fails on drift (run in CI).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { parse } from 'yaml';

const CONTRACT = new URL('../../../openapi/openapi.yaml', import.meta.url);
const TYPES = new URL('../src/generated/openapi.ts', import.meta.url);
const IDEMPOTENT = new URL('../src/generated/idempotent-routes.ts', import.meta.url);

const HEADER = '// Generated from openapi/openapi.yaml by `npm run client:generate`; do not edit.\n';

interface Parameter {
  readonly $ref?: string;
  readonly name?: string;
  readonly in?: string;
}
interface Operation {
  readonly parameters?: readonly Parameter[];
}
interface Contract {
  readonly paths: Record<string, Record<string, Operation | Parameter[]>>;
  readonly components?: { readonly parameters?: Record<string, Parameter> };
}

function takesIdempotencyKey(contract: Contract, parameters: readonly Parameter[] = []): boolean {
  return parameters.some((p) => {
    const resolved = p.$ref === undefined ? p : contract.components?.parameters?.[p.$ref.replace('#/components/parameters/', '')];
    return resolved?.in === 'header' && resolved.name?.toLowerCase() === 'idempotency-key';
  });
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  const source = await readFile(CONTRACT, 'utf8');
  const contract = parse(source) as Contract;
  // Fields with a default stay optional: request bodies may leave them out (the default, true, makes
  // them required everywhere, request bodies included).
  const types = HEADER + astToString(await openapiTS(source, { defaultNonNullable: false }));
  const routes = Object.entries(contract.paths)
    .filter(([, item]) => {
      const post = item['post'] as Operation | undefined;
      const shared = item['parameters'] as Parameter[] | undefined;
      return post !== undefined && takesIdempotencyKey(contract, [...(shared ?? []), ...(post.parameters ?? [])]);
    })
    .map(([path]) => path)
    .sort();
  const idempotent =
    HEADER +
    '\n/** Path templates whose POST takes an `Idempotency-Key` header. */\n' +
    `export const IDEMPOTENT_POSTS: ReadonlySet<string> = new Set([\n${routes.map((r) => `  '${r}',\n`).join('')}]);\n`;
  const outputs: [URL, string][] = [
    [TYPES, types],
    [IDEMPOTENT, idempotent],
  ];
  let drift = false;
  for (const [file, text] of outputs) {
    const path = fileURLToPath(file);
    if (check) {
      const current = await readFile(path, 'utf8').catch(() => '');
      if (current !== text) {
        console.error(`${path} is out of date with openapi/openapi.yaml: run npm run client:generate`);
        drift = true;
      }
    } else {
      await writeFile(path, text);
      console.log(`wrote ${path}`);
    }
  }
  if (drift) process.exit(1);
  if (check) console.log('client types match openapi/openapi.yaml');
}

await main();
