import type { VmCopyService } from '../../domain/vms/vm-copy-service.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL } from './operation-dto.js';

/** Clones of VMs and VMs published as tenant images, over the same use cases as REST (uses `Operation`). */
export const vmCopyTypeDefs = /* GraphQL */ `
  extend type Mutation {
    "Clones a VM into a new VM of the tenant (vm.clone operation; vm.update on the VM and vm.create): new MACs and SMBIOS serial, its own cloud-init and, with Arc on, its own Arc machine."
    cloneVm(tenant: ID!, vm: ID!, name: ID!, owner: ID, running: Boolean = true, sshPublicKeys: [String!]): Operation!
    "Publishes the VM's root disk as a tenant image, a new image or its next version (vm.publish operation; vm.update on the VM and image.write); stopFirst stops a VM that is not stopped."
    publishVm(tenant: ID!, vm: ID!, image: ID!, displayName: String, stopFirst: Boolean = false): Operation!
  }
`;

type VmArgs = { tenant: string; vm: string };

export function vmCopyResolvers(copies: VmCopyService) {
  return {
    Mutation: {
      cloneVm: async (
        _: unknown,
        a: VmArgs & { name: string; owner?: string | null; running?: boolean | null; sshPublicKeys?: string[] | null },
        ctx: GraphQLContext,
      ) =>
        operationGraphQL(
          await copies.clone(requirePrincipal(ctx), a.tenant, a.vm, {
            name: a.name,
            ...(a.owner == null ? {} : { owner: a.owner }),
            running: a.running !== false,
            ...(a.sshPublicKeys == null ? {} : { sshPublicKeys: a.sshPublicKeys }),
          }),
        ),
      publishVm: async (_: unknown, a: VmArgs & { image: string; displayName?: string | null; stopFirst?: boolean | null }, ctx: GraphQLContext) =>
        operationGraphQL(
          await copies.publish(requirePrincipal(ctx), a.tenant, a.vm, {
            image: a.image,
            ...(a.displayName == null ? {} : { displayName: a.displayName }),
            stopFirst: a.stopFirst === true,
          }),
        ),
    },
  };
}
