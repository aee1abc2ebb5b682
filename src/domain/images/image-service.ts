import { authorize, canSeeTenant } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import { checkOutboundUrl, type HostResolver, type OutboundPolicy } from '../net/index.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError, QuotaExceededError } from '../shared/errors.js';
import { pageByKey, type Page, type PageRequest } from '../shared/page.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import { imageId, type Image, type ImageOwner, type ImagePhase, type ImageSource, type ImageSpec, type StorageClass } from './image.js';
import { IMAGE_IMPORT_KIND, importInput } from './image-import.js';
import type { ImageRepository, ImageUsage } from './image-repository.js';
import { assertImport, imageNameIssues, SOURCE_SCHEMES } from './image-rules.js';
import type { Precondition } from '../shared/precondition.js';

export interface ImportImageInput {
  readonly name: string;
  /** Defaults to the name. */
  readonly displayName?: string;
  readonly os?: string;
  readonly source: ImageSource;
  readonly sizeGi: number;
  readonly storageClass: string;
}

export interface ImageListFilter {
  readonly phase?: ImagePhase;
}

/** Where import URLs may point (the SSRF guard's settings); see `OutboundPolicy`. */
export interface ImageImportPolicy {
  /** Hosts for which plain http is accepted (an admin's allow-list); everything else needs https. */
  readonly httpAllowedHosts: readonly string[];
  /** Endpoint of `s3://` URLs (an origin); default `https://s3.amazonaws.com`. */
  readonly s3Endpoint?: string;
  /** Extra name suffixes to refuse (the cluster's own domains). */
  readonly blockedHostSuffixes?: readonly string[];
}

export interface ImageServiceDeps {
  readonly repo: ImageRepository;
  readonly usage: ImageUsage;
  readonly tenants: Pick<TenantRepository, 'get' | 'usage'>;
  readonly operations: Pick<OperationService, 'start'>;
  readonly resolver: HostResolver;
  readonly policy: ImageImportPolicy;
}

export type ImageService = ReturnType<typeof createImageService>;

const STORAGE_NEEDED = (sizeGi: number) => ({ storageGi: sizeGi, persistentVolumeClaims: 1 });

/**
 * Image use cases over the platform catalog (`{ scope: 'platform' }`: every caller reads, platform
 * admins write) and tenants' private images (`image.read` / `image.write` in the tenant; another
 * tenant's images answer 404). Every method authorizes first; imports are vetted (shape, SSRF
 * guard, name, quota) before anything is written, then run as an `image.import` operation.
 */
export function createImageService(deps: ImageServiceDeps) {
  const { repo } = deps;
  const outbound = (source: ImageSource): OutboundPolicy => ({
    allowedSchemes: SOURCE_SCHEMES[source.type],
    httpAllowedHosts: deps.policy.httpAllowedHosts,
    ...(deps.policy.blockedHostSuffixes === undefined ? {} : { blockedHostSuffixes: deps.policy.blockedHostSuffixes }),
  });
  const urlOptions = deps.policy.s3Endpoint === undefined ? {} : { s3Endpoint: deps.policy.s3Endpoint };

  async function authorizeOn(p: Principal, owner: ImageOwner, write: boolean): Promise<void> {
    if (owner.scope === 'platform') {
      authorize(p, write ? 'platformImage.write' : 'image.read');
      return;
    }
    authorize(p, write ? 'image.write' : 'image.read', { tenant: owner.tenant });
    const tenant = canSeeTenant(p, owner.tenant) ? await deps.tenants.get(owner.tenant) : undefined;
    if (tenant === undefined) throw new NotFoundError('tenant', owner.tenant);
  }

  async function load(owner: ImageOwner, name: string): Promise<Image> {
    const image = imageNameIssues(name).length === 0 ? await repo.get(owner, name) : undefined;
    if (image === undefined) throw new NotFoundError('image', name);
    return image;
  }

  /** Refuses an import the tenant's quota (storage and claim count) cannot hold; nothing is written. */
  async function checkQuota(tenantId: string, sizeGi: number): Promise<void> {
    const tenant = await deps.tenants.get(tenantId);
    if (tenant === undefined) throw new NotFoundError('tenant', tenantId);
    const used = await deps.tenants.usage(tenantId);
    const needed = STORAGE_NEEDED(sizeGi);
    const short = (['storageGi', 'persistentVolumeClaims'] as const)
      .map((resource) => ({
        resource,
        needed: needed[resource],
        left: Math.max(0, tenant.quota[resource] - used[resource]),
        limit: tenant.quota[resource],
      }))
      .filter((r) => r.needed > r.left);
    if (short.length > 0) {
      const text = short.map((r) => `${r.resource}: needs ${r.needed}, ${r.left} left of ${r.limit}`).join('; ');
      throw new QuotaExceededError('QUOTA_EXCEEDED', `The tenant's quota cannot hold this image (${text}).`, { details: { shortfalls: short } });
    }
  }

  return {
    async list(p: Principal, owner: ImageOwner, filter: ImageListFilter, page: PageRequest): Promise<Page<Image>> {
      await authorizeOn(p, owner, false);
      const all = await repo.list(owner);
      const matching = filter.phase === undefined ? all : all.filter((i) => i.phase === filter.phase);
      return pageByKey(matching, (i) => i.name, page);
    },

    async get(p: Principal, owner: ImageOwner, name: string): Promise<Image> {
      await authorizeOn(p, owner, false);
      return load(owner, name);
    },

    /**
     * Starts importing an image: answers the `image.import` operation. Refusals write nothing:
     * a malformed request (ValidationError), a URL the SSRF guard refuses (UnprocessableError
     * `URL_NOT_ALLOWED`), a taken name (ConflictError `IMAGE_EXISTS`), a full quota
     * (QuotaExceededError `QUOTA_EXCEEDED` with needed/left figures).
     */
    async import(p: Principal, owner: ImageOwner, input: ImportImageInput): Promise<Operation> {
      await authorizeOn(p, owner, true);
      assertImport(input);
      const vetted = await checkOutboundUrl(input.source.url, outbound(input.source), deps.resolver, urlOptions);
      // Import what was vetted: the canonical URL (a fully qualified registry reference for docker).
      const url = input.source.type === 's3' ? input.source.url : vetted.url.toString();
      if ((await repo.get(owner, input.name)) !== undefined) {
        throw new ConflictError('IMAGE_EXISTS', `An image named '${input.name}' already exists.`);
      }
      if (owner.scope === 'tenant') await checkQuota(owner.tenant, input.sizeGi);
      const spec: ImageSpec = {
        owner,
        name: input.name,
        displayName: input.displayName ?? input.name,
        ...(input.os === undefined ? {} : { os: input.os }),
        source: { ...input.source, url },
        sizeGi: input.sizeGi,
        storageClass: input.storageClass as StorageClass,
      };
      return deps.operations.start(p, {
        kind: IMAGE_IMPORT_KIND,
        ...(owner.scope === 'tenant' ? { tenant: owner.tenant } : {}),
        target: { type: 'image', id: imageId(owner, input.name), name: input.name },
        input: importInput(spec),
      });
    },

    /**
     * Deletes the image's DataVolume (and with it the PVC) at once. Refused with ConflictError
     * `IMAGE_IN_USE` (and the number of VMs) while VMs are built from it.
     */
    async delete(p: Principal, owner: ImageOwner, name: string, precondition?: Precondition<Image>): Promise<void> {
      await authorizeOn(p, owner, true);
      precondition?.(await load(owner, name));
      const vms = await deps.usage.vmsUsing(owner, name);
      if (vms > 0) {
        throw new ConflictError('IMAGE_IN_USE', `${vms} virtual machine(s) use image '${name}'; delete them first.`, {
          details: { virtualMachines: vms },
        });
      }
      if (!(await repo.delete(owner, name))) throw new NotFoundError('image', name);
    },
  };
}
