import type { ImageUsage } from '../../domain/images/image-repository.js';
import { imageNamespaceOf, LABEL_IMAGE, LABEL_IMAGE_SCOPE } from './image-objects.js';
import type { KubeClient } from './kube-client.js';
import { listAllPages, orUndefined } from './kube-reads.js';
import { customResource } from './resource-cache.js';
import { KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMS } from './vm-objects.js';

/**
 * `ImageUsage` over the API server: lists VirtualMachines by the image labels the VM side sets
 * (`labplane.io/image-scope`, `labplane.io/image`). It asks the server rather than a cache on
 * purpose: it guards a delete (rare), and a VM created a moment ago must count.
 * A cluster without KubeVirt has no VMs (0).
 */
export function createKubeImageUsage(client: KubeClient): ImageUsage {
  const vms = customResource(client, KUBEVIRT_GROUP, KUBEVIRT_VERSION, VMS);
  return {
    async vmsUsing(owner, name) {
      const labelSelector = `${LABEL_IMAGE_SCOPE}=${owner.scope},${LABEL_IMAGE}=${name}`;
      const namespace = owner.scope === 'platform' ? {} : { namespace: imageNamespaceOf(owner) };
      const listed = await orUndefined(
        listAllPages(client, `list VirtualMachines using image ${owner.scope}/${name}`, (cont) =>
          vms.list({ ...namespace, labelSelector, ...(cont === undefined ? {} : { cont }) }),
        ),
      );
      return listed?.items.length ?? 0;
    },
  };
}
