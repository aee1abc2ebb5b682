import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parseAllDocuments } from 'yaml';
import { addCrdKeywords, loadCrdSchemas } from '../src/adapters/sim/kube-emulator/crd-schemas.js';
import { UnknownFieldChecker, packageDir } from './kube-unknown-fields.js';

/**
 * The Kubernetes version whose API the manifests are checked against: the one the pinned
 * `kubernetes-models` (5.1.0, see package.json) is generated from. Change both together.
 */
export const KUBERNETES_VERSION = '1.36.0';

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One object of a rendered manifest and what is wrong with it. */
export interface ManifestProblem {
  /** `apiVersion/Kind namespace/name` of the object. */
  readonly object: string;
  readonly message: string;
}

/** A custom kind served by one of our CRDs. */
interface CustomKind {
  readonly crd: string;
  readonly versions: ReadonlySet<string>;
}

/** Parses a multi-document YAML stream (what `kubectl kustomize` prints) into its objects. */
export function parseManifests(text: string): unknown[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`not YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS({ maxAliasCount: -1 });
    return value === null || value === undefined ? [] : [value];
  });
}

function describe(o: Obj): string {
  const meta = isObj(o.metadata) ? o.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(o.apiVersion)}/${String(o.kind)} ${ns}${String(meta.name ?? '?')}`;
}

/** Custom kinds (`labplane.io/Lab`) of the CRDs in `dir`, keyed by `group/Kind`. */
function customKinds(dir: string): Map<string, CustomKind> {
  const out = new Map<string, CustomKind>();
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
    for (const doc of parseManifests(readFileSync(join(dir, file), 'utf8'))) {
      if (!isObj(doc) || doc.kind !== 'CustomResourceDefinition' || !isObj(doc.spec) || !isObj(doc.spec.names) || !isObj(doc.metadata)) continue;
      const versions = Array.isArray(doc.spec.versions)
        ? doc.spec.versions.filter((v): v is Obj => isObj(v) && v.served === true).map((v) => String(v.name))
        : [];
      out.set(`${String(doc.spec.group)}/${String(doc.spec.names.kind)}`, { crd: String(doc.metadata.name), versions: new Set(versions) });
    }
  }
  return out;
}

type ModelValidate = (data: unknown) => void;

/** The kubernetes-models class of a GA built-in kind, or undefined when the package has none. */
async function builtInModel(apiVersion: string, kind: string): Promise<ModelValidate | undefined> {
  if (!/^([a-z0-9.-]+\/)?v\d+$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  // Every kind is a module `<apiVersion>/<Kind>.js` of the package, exported by a wildcard per version.
  if (!existsSync(join(packageDir('kubernetes-models'), apiVersion, `${kind}.js`))) return undefined;
  const mod = (await import(`kubernetes-models/${apiVersion}/${kind}`)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[kind];
  return Model === undefined ? undefined : (data) => new Model(data).validate();
}

/**
 * Validates rendered objects as an API server of {@link KUBERNETES_VERSION} would on a strict
 * dry-run: built-in kinds against the Kubernetes OpenAPI schemas (types, formats, enums, required
 * fields; unknown fields are errors), objects of our CRDs against their CRD's schema (strict too).
 * Only GA API versions are accepted for built-in kinds: kubernetes-models also carries the beta
 * versions of older releases, which a current cluster no longer serves (or serves only when enabled).
 */
export async function validateManifests(objects: readonly unknown[], crdsDir: string): Promise<ManifestProblem[]> {
  const problems: ManifestProblem[] = [];
  const custom = existsSync(crdsDir) ? customKinds(crdsDir) : new Map<string, CustomKind>();
  const crdAjv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true, validateSchema: false, logger: false });
  addFormats(crdAjv);
  addCrdKeywords(crdAjv);
  crdAjv.addSchema({ definitions: loadCrdSchemas(crdsDir) }, 'crd');

  const builtIn: Array<{ object: Obj; key: string; validate: ModelValidate }> = [];
  for (const object of objects) {
    if (!isObj(object) || typeof object.apiVersion !== 'string' || typeof object.kind !== 'string') {
      problems.push({ object: '?', message: 'not a Kubernetes object: apiVersion and kind are required' });
      continue;
    }
    const name = describe(object);
    if (!isObj(object.metadata) || typeof object.metadata.name !== 'string' || object.metadata.name === '') {
      problems.push({ object: name, message: 'metadata.name is required' });
      continue;
    }
    const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/', 2) : ['', object.apiVersion];
    const crd = custom.get(`${group}/${object.kind}`);
    if (crd !== undefined) {
      if (!crd.versions.has(version ?? '')) problems.push({ object: name, message: `version ${version} is not served by CRD ${crd.crd}` });
      else {
        const fn = crdAjv.getSchema(`crd#/definitions/${crd.crd}`) ?? crdAjv.compile({ $ref: `crd#/definitions/${crd.crd}` });
        if (!fn(object))
          for (const e of fn.errors ?? []) problems.push({ object: name, message: ajvMessage(e.instancePath, e.keyword, e.params, e.message) });
      }
      continue;
    }
    if (!/^v\d+$/.test(version ?? '')) {
      problems.push({
        object: name,
        message: `${object.apiVersion} is not a GA API version of Kubernetes ${KUBERNETES_VERSION}: use the GA version of ${object.kind}`,
      });
      continue;
    }
    const validate = await builtInModel(object.apiVersion, object.kind);
    if (validate === undefined) {
      problems.push({
        object: name,
        message: `no ${object.apiVersion} ${object.kind} in Kubernetes ${KUBERNETES_VERSION} and no CRD of ours defines it`,
      });
      continue;
    }
    builtIn.push({ object, key: `${object.apiVersion}/${object.kind}`, validate });
  }

  const models = packageDir('kubernetes-models');
  const checker = checkerFor([...new Set(builtIn.map(({ key }) => key))].sort(), models);
  for (const { object, key, validate } of builtIn) {
    const name = describe(object);
    try {
      validate(object);
    } catch (err) {
      const errors =
        isObj(err) && Array.isArray(err.errors)
          ? (err.errors as Array<{ instancePath: string; keyword: string; params: Obj; message?: string }>)
          : [];
      if (errors.length === 0) problems.push({ object: name, message: err instanceof Error ? err.message : String(err) });
      for (const e of errors) problems.push({ object: name, message: ajvMessage(e.instancePath, e.keyword, e.params, e.message) });
    }
    if (!checker.has(key)) {
      problems.push({ object: name, message: `no type declaration for ${key} to check unknown fields against` });
      continue;
    }
    for (const field of checker.unknownFields(key, object)) problems.push({ object: name, message: `unknown field "${field.slice(1)}"` });
  }
  return problems;
}

const checkers = new Map<string, UnknownFieldChecker>();

/** Building the TypeScript program takes seconds, so a checker is kept per set of kinds. */
function checkerFor(keys: readonly string[], models: string): UnknownFieldChecker {
  const id = keys.join(',');
  let checker = checkers.get(id);
  if (checker === undefined) {
    checker = new UnknownFieldChecker(new Map(keys.map((key) => [key, join(models, `${key}.d.ts`)])));
    checkers.set(id, checker);
  }
  return checker;
}

function ajvMessage(instancePath: string, keyword: string, params: Obj, message: string | undefined): string {
  const at = instancePath === '' ? '(root)' : instancePath.slice(1).replace(/\//g, '.');
  if (keyword === 'additionalProperties') return `unknown field "${at === '(root)' ? '' : `${at}.`}${String(params.additionalProperty)}"`;
  return `${at}: ${message ?? keyword}`;
}
