import { PLATFORM, type ImageOwner, type ImagePhase, type ImageSource, type ImageSourceType } from '../../domain/images/image.js';
import type { ImageService, ImportImageInput } from '../../domain/images/image-service.js';
import { ValidationError } from '../../domain/shared/errors.js';
import { MAX_PAGE_LIMIT } from '../../domain/shared/page.js';
import { DEFAULT_STORAGE_CLASS, imageDto } from '../rest/images.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL } from './operation-dto.js';

/** Platform and tenant images over the same use cases as REST. */
export const imageTypeDefs = /* GraphQL */ `
  enum ImageScope {
    platform
    tenant
  }
  enum ImagePhase {
    Importing
    Ready
    Failed
  }
  "vm: published from a tenant VM (not a source an import accepts)."
  enum ImageSourceType {
    http
    registry
    s3
    vm
  }

  "Where an image was imported from (an S3 credential reference is never shown, only that one exists), or the VM it was published from (url: the VM's API path) and its version."
  type ImageSource {
    type: ImageSourceType!
    url: String!
    hasCredentials: Boolean!
    vm: String
    version: Int
  }

  "A golden image: a CDI DataVolume imported from https, a registry (docker://) or S3."
  type Image {
    scope: ImageScope!
    tenant: ID
    name: ID!
    displayName: String!
    os: String
    source: ImageSource!
    "VMs created from it generalise their copy of the disk on first boot (published images)."
    generalize: Boolean!
    sizeGi: Int!
    "kv-premium-retain or kv-standard."
    storageClass: String!
    phase: ImagePhase!
    "Import progress in percent."
    progress: Float!
    failureReason: String
    createdAt: String!
  }

  type ImageConnection {
    items: [Image!]!
    nextCursor: String
  }

  input SecretRefInput {
    name: String!
  }

  "secretRef is required for s3 (a Secret in the target namespace with accessKeyId and secretKey), refused otherwise."
  input ImageSourceInput {
    type: ImageSourceType!
    url: String!
    secretRef: SecretRefInput
  }

  input ImportImageInput {
    name: ID!
    displayName: String
    os: String
    source: ImageSourceInput!
    sizeGi: Int!
    "kv-premium-retain or kv-standard (default)."
    storageClass: String
  }

  extend type Query {
    "The platform catalog."
    images(limit: Int = 50, cursor: String, phase: ImagePhase): ImageConnection!
    "A tenant's image when tenant is given, else a platform image."
    image(name: ID!, tenant: ID): Image!
    tenantImages(tenant: ID!, limit: Int = 50, cursor: String, phase: ImagePhase): ImageConnection!
  }

  extend type Mutation {
    "Starts an image.import operation: into the tenant when given (owners), else into the platform catalog (admins)."
    importImage(tenant: ID, input: ImportImageInput!): Operation!
    "Deletes an image (refused while VMs use it): the tenant's when given, else a platform image."
    deleteImage(name: ID!, tenant: ID): Boolean!
  }
`;

interface ListArgs {
  limit: number;
  cursor?: string | null;
  phase?: ImagePhase | null;
}

interface ImportArgs {
  tenant?: string | null;
  input: {
    name: string;
    displayName?: string | null;
    os?: string | null;
    source: { type: ImageSourceType | 'vm'; url: string; secretRef?: { name: string } | null };
    sizeGi: number;
    storageClass?: string | null;
  };
}

function ownerOf(tenant: string | null | undefined): ImageOwner {
  return tenant == null ? PLATFORM : { scope: 'tenant', tenant };
}

function sourceOf(s: ImportArgs['input']['source']): ImageSource {
  if (s.type === 'vm') {
    throw new ValidationError('An image is published from a VM with publishVm, not imported.', [
      { field: '/input/source/type', message: 'must be http, registry or s3' },
    ]);
  }
  if (s.type === 's3') {
    if (s.secretRef == null)
      throw new ValidationError('An s3 source needs a secretRef.', [{ field: '/input/source/secretRef', message: 'required for s3' }]);
    return { type: 's3', url: s.url, secretRef: { name: s.secretRef.name } };
  }
  if (s.secretRef != null) {
    throw new ValidationError('Only an s3 source takes a secretRef.', [{ field: '/input/source/secretRef', message: `not accepted for ${s.type}` }]);
  }
  return { type: s.type, url: s.url };
}

function importInputOf(i: ImportArgs['input']): ImportImageInput {
  return {
    name: i.name,
    ...(i.displayName == null ? {} : { displayName: i.displayName }),
    ...(i.os == null ? {} : { os: i.os }),
    source: sourceOf(i.source),
    sizeGi: i.sizeGi,
    storageClass: i.storageClass ?? DEFAULT_STORAGE_CLASS,
  };
}

export function imageResolvers(images: ImageService) {
  async function list(ctx: GraphQLContext, owner: ImageOwner, a: ListArgs) {
    if (!Number.isInteger(a.limit) || a.limit < 1 || a.limit > MAX_PAGE_LIMIT) {
      throw new ValidationError('limit is out of range.', [{ field: '/limit', message: `must be 1-${MAX_PAGE_LIMIT}` }]);
    }
    const page = await images.list(requirePrincipal(ctx), owner, a.phase == null ? {} : { phase: a.phase }, {
      limit: a.limit,
      ...(a.cursor == null ? {} : { cursor: a.cursor }),
    });
    return { items: page.items.map(imageDto), nextCursor: page.nextCursor ?? null };
  }

  return {
    Query: {
      images: (_: unknown, a: ListArgs, ctx: GraphQLContext) => list(ctx, PLATFORM, a),
      tenantImages: (_: unknown, a: ListArgs & { tenant: string }, ctx: GraphQLContext) => list(ctx, ownerOf(a.tenant), a),
      image: async (_: unknown, a: { name: string; tenant?: string | null }, ctx: GraphQLContext) =>
        imageDto(await images.get(requirePrincipal(ctx), ownerOf(a.tenant), a.name)),
    },
    Mutation: {
      importImage: async (_: unknown, a: ImportArgs, ctx: GraphQLContext) =>
        operationGraphQL(await images.import(requirePrincipal(ctx), ownerOf(a.tenant), importInputOf(a.input))),
      deleteImage: async (_: unknown, a: { name: string; tenant?: string | null }, ctx: GraphQLContext) => {
        await images.delete(requirePrincipal(ctx), ownerOf(a.tenant), a.name);
        return true;
      },
    },
  };
}
