import type { FastifyReply, FastifyRequest } from 'fastify';
import { PLATFORM, type Image, type ImageOwner, type ImagePhase, type ImageSource, type PublishedSource } from '../../domain/images/image.js';
import type { ImageService, ImportImageInput } from '../../domain/images/image-service.js';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import { contentVersion, etagOf, ifMatchPrecondition } from './etag.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { sendAccepted } from './operations.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: { 'if-match'?: string } }>;
type ListQuery = { limit?: number; cursor?: string; phase?: ImagePhase };

export const DEFAULT_STORAGE_CLASS = 'kv-standard';

/**
 * The wire shape of a source: an S3 Secret's name is never shown, only that there is one. A
 * published image shows its source VM (its API path as `url`) and its version.
 */
export function imageSourceDto(s: ImageSource | PublishedSource, tenant?: string): Schemas['ImageSource'] {
  if (s.type === 'vm') {
    return { type: 'vm', url: `/v1/tenants/${tenant ?? ''}/vms/${s.vm}`, hasCredentials: false, vm: s.vm, version: s.version };
  }
  return { type: s.type, url: s.url, hasCredentials: s.type === 's3' };
}

export function imageDto(i: Image): Schemas['Image'] {
  return {
    scope: i.scope,
    ...(i.tenant === undefined ? {} : { tenant: i.tenant }),
    name: i.name,
    displayName: i.displayName,
    ...(i.os === undefined ? {} : { os: i.os }),
    source: imageSourceDto(i.source, i.tenant),
    generalize: i.generalize === true,
    sizeGi: i.sizeGi,
    storageClass: i.storageClass,
    phase: i.phase,
    progress: i.progress,
    ...(i.failureReason === undefined ? {} : { failureReason: i.failureReason }),
    createdAt: i.createdAt,
  };
}

/** The use-case input of an import request (the contract has validated its shape). */
export function importInputOf(b: Schemas['ImageImport']): ImportImageInput {
  const s = b.source;
  const source: ImageSource = s.type === 's3' ? { type: 's3', url: s.url, secretRef: { name: s.secretRef.name } } : { type: s.type, url: s.url };
  return {
    name: b.name,
    ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
    ...(b.os === undefined ? {} : { os: b.os }),
    source,
    sizeGi: b.sizeGi,
    storageClass: b.storageClass ?? DEFAULT_STORAGE_CLASS,
  };
}

const tenantOwner = (tenant: string): ImageOwner => ({ scope: 'tenant', tenant });

/** An image's ETag: images keep no version of their record (`version` counts publishes), so it is a digest of what a client sees. */
export function imageVersion(i: Image): string {
  return contentVersion(imageDto(i));
}

function sendImage(reply: FastifyReply, i: Image): FastifyReply {
  return reply.header('etag', etagOf(imageVersion(i))).send(imageDto(i));
}

function imageIfMatch(req: Req<unknown>, name: string) {
  return ifMatchPrecondition(req.headers['if-match'], imageVersion, `Image '${name}'`);
}

/** REST handlers for platform and tenant images, keyed by the contract's operationIds. */
export function imageHandlers(images: ImageService) {
  async function list(req: Req<unknown, ListQuery>, owner: ImageOwner): Promise<Schemas['ImageList']> {
    const q = req.query;
    const page = await images.list(principalOf(req), owner, q.phase === undefined ? {} : { phase: q.phase }, {
      limit: q.limit ?? DEFAULT_PAGE_LIMIT,
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    return { items: page.items.map(imageDto), ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor }) };
  }

  return {
    listImages: (req: Req<unknown, ListQuery>) => list(req, PLATFORM),
    listTenantImages: (req: Req<{ tenant: string }, ListQuery>) => list(req, tenantOwner(req.params.tenant)),

    async getImage(req: Req<{ image: string }>, reply: FastifyReply) {
      return sendImage(reply, await images.get(principalOf(req), PLATFORM, req.params.image));
    },
    async getTenantImage(req: Req<{ tenant: string; image: string }>, reply: FastifyReply) {
      return sendImage(reply, await images.get(principalOf(req), tenantOwner(req.params.tenant), req.params.image));
    },

    async importImage(req: Req<unknown, unknown, Schemas['ImageImport']>, reply: FastifyReply) {
      return sendAccepted(reply, await images.import(principalOf(req), PLATFORM, importInputOf(req.body)));
    },
    async importTenantImage(req: Req<{ tenant: string }, unknown, Schemas['ImageImport']>, reply: FastifyReply) {
      return sendAccepted(reply, await images.import(principalOf(req), tenantOwner(req.params.tenant), importInputOf(req.body)));
    },

    async deleteImage(req: Req<{ image: string }>, reply: FastifyReply) {
      await images.delete(principalOf(req), PLATFORM, req.params.image, imageIfMatch(req, req.params.image));
      return reply.code(204).send();
    },
    async deleteTenantImage(req: Req<{ tenant: string; image: string }>, reply: FastifyReply) {
      await images.delete(principalOf(req), tenantOwner(req.params.tenant), req.params.image, imageIfMatch(req, req.params.image));
      return reply.code(204).send();
    },
  };
}
