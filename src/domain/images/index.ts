export {
  IMAGE_SCOPES,
  PLATFORM,
  PLATFORM_IMAGE_NAMESPACE,
  STORAGE_CLASSES,
  imageId,
  imageNamespace,
  ownerOf,
  type Image,
  type ImageLocation,
  type ImageOwner,
  type ImagePhase,
  type ImageRef,
  type ImageScope,
  type ImageSource,
  type ImageSourceType,
  type ImageSpec,
  type StorageClass,
} from './image.js';
export type { ImageLocator, ImageRepository, ImageUsage } from './image-repository.js';
export { createImageLocator } from './image-locator.js';
export {
  MAX_IMAGE_NAME_LENGTH,
  MAX_IMPORT_RESTARTS,
  deriveImport,
  imageNameIssues,
  isStorageClass,
  parseProgress,
  type ImportObservation,
} from './image-rules.js';
export { IMAGE_IMPORT_KIND, importInput, specFromInput } from './image-import.js';
export {
  createImageService,
  type ImageImportPolicy,
  type ImageListFilter,
  type ImageService,
  type ImageServiceDeps,
  type ImportImageInput,
} from './image-service.js';
