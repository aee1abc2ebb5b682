import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * Parsed declaration files, shared by every checker of the process: a second set of kinds (another
 * overlay) parses only the files the first did not need. Parsing the standard library and the
 * kubernetes-models declarations is most of a checker's cost; the files do not change while it runs.
 */
const parsed = new Map<string, ts.SourceFile | undefined>();

function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!shouldCreate && parsed.has(fileName)) return parsed.get(fileName);
    const file = read(fileName, languageVersion, onError, shouldCreate);
    parsed.set(fileName, file);
    return file;
  };
  return host;
}

/**
 * Finds fields the Kubernetes API does not define, as an API server does with
 * `fieldValidation=Strict`. kubernetes-models ships its schemas only as compiled ajv validators
 * that check types, formats, enums and required fields but let unknown fields through, and no JSON
 * Schema to make strict. Its TypeScript declarations, generated from the same OpenAPI document, do
 * list every field, so the TypeScript checker walks each object along its declared type.
 */
export class UnknownFieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly roots = new Map<string, ts.Type | undefined>();

  /** `files`: each kind's declaration file (`kubernetes-models/apps/v1/Deployment.d.ts`), keyed by `apiVersion/Kind`. */
  constructor(private readonly files: ReadonlyMap<string, string>) {
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    };
    const program = ts.createProgram({ rootNames: [...files.values()], options, host: cachingHost(options) });
    this.checker = program.getTypeChecker();
    for (const [key, file] of files) {
      const source = program.getSourceFile(file);
      const moduleSymbol = source === undefined ? undefined : this.checker.getSymbolAtLocation(source);
      const kind = key.slice(key.lastIndexOf('/') + 1);
      const iface = moduleSymbol === undefined ? undefined : this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `I${kind}`);
      this.roots.set(key, iface === undefined ? undefined : this.checker.getDeclaredTypeOfSymbol(iface));
    }
  }

  /** Whether the kind (`apps/v1/Deployment`) has a declared type. */
  has(key: string): boolean {
    return this.roots.get(key) !== undefined;
  }

  /** JSON paths (`.spec.template.spec.containers[0].bogus`) of the fields `value` has and its kind does not. */
  unknownFields(key: string, value: unknown): string[] {
    const root = this.roots.get(key);
    if (root === undefined) throw new Error(`no declared type for ${key}`);
    const found: string[] = [];
    this.walk(value, root, '', found);
    return found;
  }

  private walk(value: unknown, type: ts.Type, path: string, found: string[]): void {
    if (value === null || value === undefined || typeof value !== 'object') return;
    const t = this.checker.getNonNullableType(type);
    if (t.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    if (t.isUnion()) {
      const candidates = t.types.filter((m) =>
        Array.isArray(value) ? this.checker.isArrayType(m) : m.flags & ts.TypeFlags.Object && !this.checker.isArrayType(m),
      );
      // Of several object shapes, the value is fine if it fits one; report the closest fit otherwise.
      let best: string[] | undefined;
      for (const member of candidates) {
        const local: string[] = [];
        this.walk(value, member, path, local);
        if (best === undefined || local.length < best.length) best = local;
      }
      found.push(...(best ?? []));
      return;
    }
    if (Array.isArray(value)) {
      const element = this.checker.isArrayType(t) ? this.checker.getTypeArguments(t as ts.TypeReference)[0] : undefined;
      if (element !== undefined) value.forEach((item, i) => this.walk(item, element, `${path}[${i}]`, found));
      return;
    }
    if (!(t.flags & ts.TypeFlags.Object)) return;
    const index = this.checker.getIndexInfoOfType(t, ts.IndexKind.String);
    const declared = this.checker.getPropertiesOfType(t);
    if (declared.length === 0 && index === undefined) return;
    for (const [name, child] of Object.entries(value)) {
      const prop = t.getProperty(name);
      const childPath = `${path}.${name}`;
      if (prop !== undefined) this.walk(child, this.checker.getTypeOfSymbol(prop), childPath, found);
      else if (index !== undefined) this.walk(child, index.type, childPath, found);
      else found.push(childPath);
    }
  }
}

/** The folder of an installed package, found the way Node looks for `node_modules` (its `exports` hide `package.json`). */
export function packageDir(name: string, from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`package ${name} is not installed (run npm install)`);
  }
}
