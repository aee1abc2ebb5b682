import { imageNamespace, type Image, type ImageOwner, type ImagePhase, type ImageSpec } from '../../domain/images/image.js';
import { createFaultGate } from './fault-gate.js';
import type { ImageRepository, ImageUsage } from '../../domain/images/image-repository.js';
import { ConflictError, NotFoundError } from '../../domain/shared/errors.js';
import { systemClock, type Clock } from '../../domain/shared/ids.js';
import type { VmRepository } from '../../domain/vms/vm-repository.js';

/** Where an import stands (CDI's part): a test sets it, or the `instant` lifecycle makes it Ready. */
export interface ImageImportState {
  readonly phase: ImagePhase;
  readonly progress?: number;
  readonly failureReason?: string;
  readonly importRestarts?: number;
}

/** An image present from the start, Ready unless `import` says otherwise. */
export interface SeededImage {
  readonly spec: ImageSpec;
  readonly import?: ImageImportState;
}

/** Options of {@link createMemoryImageRepository}; all optional. */
export interface MemoryImageRepositoryOptions {
  readonly clock?: Clock;
  /**
   * `instant` (default): an import succeeds at once (the create answers Importing, the next read
   * Ready, as CDI with no delay would); `manual`: it stays Importing until {@link MemoryImageRepository.setImport}.
   */
  readonly lifecycle?: 'instant' | 'manual';
  /**
   * Tenants that exist (their namespace does): a tenant image of any other tenant is NotFoundError
   * `TENANT_NOT_FOUND`, as in the Kubernetes adapter. Absent: every tenant exists.
   */
  readonly tenants?: readonly string[];
  readonly images?: readonly SeededImage[];
  /** Where `vmsUsing` counts VMs (by the image they were built from); absent: no VM uses any image. */
  readonly vms?: Pick<VmRepository, 'list'>;
}

/**
 * In-memory `ImageRepository` (and `ImageUsage`) with the semantics of the Kubernetes adapter (the
 * contract suite `test/contracts/image-repository.contract.ts` runs against both), without any
 * Kubernetes object. Adds seeding, the importer's part and fault injection for tests.
 */
export interface MemoryImageRepository extends ImageRepository, ImageUsage {
  /** The next call (any port method) rejects with `err` and changes nothing. */
  failNext(err: Error): void;
  /** Moves an image's import (phase, progress, failure, importer restarts); NotFoundError when absent. */
  setImport(owner: ImageOwner, name: string, state: ImageImportState): Image;
  /** Puts an image as another writer would (kubectl, GitOps): no checks, no fault. */
  seed(image: SeededImage): Image;
  addTenant(tenant: string): void;
  /** For symmetry with the Kubernetes adapter; nothing to start. */
  start(): Promise<boolean>;
  close(): Promise<void>;
}

const key = (owner: ImageOwner, name: string): string => `${imageNamespace(owner)}/${name}`;
const byName = (a: Image, b: Image): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const READY: ImageImportState = { phase: 'Ready', progress: 100 };

export function createMemoryImageRepository(options: MemoryImageRepositoryOptions = {}): MemoryImageRepository {
  const clock = options.clock ?? systemClock;
  const lifecycle = options.lifecycle ?? 'instant';
  const tenants = options.tenants === undefined ? undefined : new Set(options.tenants);
  const images = new Map<string, Image>();
  const gate = createFaultGate();
  const { enter } = gate;

  function imageOf(spec: ImageSpec): Image {
    const { owner, operationId, os, source, ...rest } = spec;
    return {
      scope: owner.scope,
      ...(owner.scope === 'tenant' ? { tenant: owner.tenant } : {}),
      ...rest,
      ...(os === undefined ? {} : { os }),
      source: structuredClone(source),
      phase: 'Importing',
      progress: 0,
      importRestarts: 0,
      ...(operationId === undefined ? {} : { operationId }),
      createdAt: clock.now().toISOString(),
    };
  }

  function withImport(image: Image, state: ImageImportState): Image {
    const { failureReason: _f, ...rest } = image;
    return {
      ...rest,
      phase: state.phase,
      progress: state.progress ?? (state.phase === 'Ready' ? 100 : image.progress),
      ...(state.failureReason === undefined ? {} : { failureReason: state.failureReason }),
      importRestarts: state.importRestarts ?? image.importRestarts,
    };
  }

  function put(owner: ImageOwner, image: Image): Image {
    images.set(key(owner, image.name), image);
    return structuredClone(image);
  }

  for (const seeded of options.images ?? []) put(seeded.spec.owner, withImport(imageOf(seeded.spec), seeded.import ?? READY));

  return {
    failNext: gate.failNext,
    setImport(owner, name, state) {
      const image = images.get(key(owner, name));
      if (image === undefined) throw new NotFoundError('image', name);
      return put(owner, withImport(image, state));
    },
    seed: (seeded) => put(seeded.spec.owner, withImport(imageOf(seeded.spec), seeded.import ?? READY)),
    addTenant(tenant) {
      tenants?.add(tenant);
    },
    start: async () => true,
    close: async () => undefined,

    async create(spec) {
      await enter();
      const existing = images.get(key(spec.owner, spec.name));
      if (existing !== undefined) {
        if (spec.operationId !== undefined && existing.operationId === spec.operationId) return structuredClone(existing);
        throw new ConflictError('IMAGE_EXISTS', `An image (or another DataVolume) named '${spec.name}' already exists.`);
      }
      if (spec.owner.scope === 'tenant' && tenants !== undefined && !tenants.has(spec.owner.tenant))
        throw new NotFoundError('tenant', spec.owner.tenant);
      const created = imageOf(spec);
      put(spec.owner, lifecycle === 'instant' ? withImport(created, READY) : created);
      // The answer is the object as written: the import progresses after it (a later read shows it).
      return structuredClone(created);
    },

    async get(owner, name) {
      await enter();
      const image = images.get(key(owner, name));
      return image === undefined ? undefined : structuredClone(image);
    },

    async list(owner) {
      await enter();
      const prefix = `${imageNamespace(owner)}/`;
      return [...images.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .map(([, image]) => structuredClone(image))
        .sort(byName);
    },

    async delete(owner, name) {
      await enter();
      return images.delete(key(owner, name));
    },

    async vmsUsing(owner, name) {
      await enter();
      const vms = await (options.vms?.list(owner.scope === 'tenant' ? owner.tenant : undefined) ?? []);
      return vms.filter((vm) => vm.image.scope === owner.scope && vm.image.name === name).length;
    },
  };
}
