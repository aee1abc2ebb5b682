import type { ImageUsage } from '../../domain/images/image-repository.js';
import { isNotFound } from './errors.js';
import { imageNamespaceOf, LABEL_IMAGE, LABEL_IMAGE_SCOPE } from './image-objects.js';
import type { KubeClient } from './kube-client.js';

const PAGE = 500;

function pageOf(raw: unknown): { count: number; cont: string | undefined } {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as { items?: unknown; metadata?: { continue?: unknown; _continue?: unknown } };
  const c = r.metadata?.continue ?? r.metadata?._continue;
  return { count: Array.isArray(r.items) ? r.items.length : 0, cont: typeof c === 'string' && c !== '' ? c : undefined };
}

/**
 * `ImageUsage` over the API server: lists VirtualMachines by the image labels the VM side sets
 * (`labplane.io/image-scope`, `labplane.io/image`). It asks the server rather than a cache on
 * purpose: it guards a delete (rare), and a VM created a moment ago must count.
 * A cluster without KubeVirt has no VMs (0).
 */
export function createKubeImageUsage(client: KubeClient): ImageUsage {
  return {
    async vmsUsing(owner, name) {
      const labelSelector = `${LABEL_IMAGE_SCOPE}=${owner.scope},${LABEL_IMAGE}=${name}`;
      const base = { group: 'kubevirt.io', version: 'v1', plural: 'virtualmachines', labelSelector, limit: PAGE };
      let count = 0;
      let cont: string | undefined;
      try {
        do {
          const page = pageOf(
            await client.request({ what: `list VirtualMachines using image ${owner.scope}/${name}`, write: false }, () => {
              const c = cont === undefined ? {} : { _continue: cont };
              return owner.scope === 'platform'
                ? client.custom.listClusterCustomObject({ ...base, ...c })
                : client.custom.listNamespacedCustomObject({ ...base, namespace: imageNamespaceOf(owner), ...c });
            }),
          );
          count += page.count;
          cont = page.cont;
        } while (cont !== undefined);
      } catch (err) {
        if (isNotFound(err)) return 0;
        throw err;
      }
      return count;
    },
  };
}
