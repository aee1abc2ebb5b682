import { createHash } from 'node:crypto';

/**
 * The root disk's DataVolume: unique per create (a disk retained from an earlier VM of the same
 * name never collides) and per reimage (`operationId` of the `vm.reimage`: a re-run finds its own).
 */
export function rootDiskName(spec: { readonly name: string; readonly id: string; readonly operationId?: string | undefined }): string {
  const token = createHash('sha256')
    .update(spec.operationId ?? spec.id)
    .digest('hex')
    .slice(0, 8);
  return `${spec.name}-root-${token}`;
}
