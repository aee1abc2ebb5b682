import type { LabTemplateService } from '../../domain/labs/lab-template.js';
import type { ReimageService } from '../../domain/vms/reimage-service.js';
import { requirePrincipal, type GraphQLContext } from './context.js';
import { operationGraphQL } from './operation-dto.js';
import { vmGraphQL } from './vms.js';

/** VM and lab reimages and labs' template VMs over the same use cases as REST (uses `Operation`, `Vm`, `VmImageRefInput`). */
export const reimageTypeDefs = /* GraphQL */ `
  extend type Query {
    "The lab's template VM (lab.read); TEMPLATE_VM_NOT_FOUND when it has none."
    labTemplateVm(tenant: ID!, lab: ID!): Vm!
  }

  extend type Mutation {
    "Reimages a VM: a fresh root disk from its image, or another (vm.reimage operation; vm.power on the VM for its own image, vm.update for another)."
    reimageVm(tenant: ID!, vm: ID!, image: VmImageRefInput, sshPublicKeys: [String!], cloudInit: String): Operation!
    "Rebuilds the lab's student VMs from its template image, all or the given students (lab.reimage operation; lab.write)."
    reimageLab(tenant: ID!, lab: ID!, students: [ID!]): Operation!
    "Creates the lab's template VM from the lab's image (vm.create operation; lab.write); owner: the caller or an instructor."
    createLabTemplateVm(tenant: ID!, lab: ID!, owner: ID): Operation!
    "Publishes the lab's template VM as a tenant image and points the lab's template at it (lab.template-publish operation; lab.write)."
    publishLabTemplate(tenant: ID!, lab: ID!, image: ID): Operation!
  }
`;

type LabArgs = { tenant: string; lab: string };

export function reimageResolvers(reimage: ReimageService, templates: LabTemplateService) {
  return {
    Query: {
      labTemplateVm: async (_: unknown, a: LabArgs, ctx: GraphQLContext) =>
        vmGraphQL(await templates.getTemplateVm(requirePrincipal(ctx), a.tenant, a.lab)),
    },
    Mutation: {
      reimageVm: async (
        _: unknown,
        a: {
          tenant: string;
          vm: string;
          image?: { scope: 'platform' | 'tenant'; name: string } | null;
          sshPublicKeys?: string[] | null;
          cloudInit?: string | null;
        },
        ctx: GraphQLContext,
      ) =>
        operationGraphQL(
          await reimage.reimage(requirePrincipal(ctx), a.tenant, a.vm, {
            ...(a.image == null ? {} : { image: { scope: a.image.scope, name: a.image.name } }),
            ...(a.sshPublicKeys == null ? {} : { sshPublicKeys: a.sshPublicKeys }),
            ...(a.cloudInit == null ? {} : { cloudInit: a.cloudInit }),
          }),
        ),
      reimageLab: async (_: unknown, a: LabArgs & { students?: string[] | null }, ctx: GraphQLContext) =>
        operationGraphQL(await templates.reimageLab(requirePrincipal(ctx), a.tenant, a.lab, a.students == null ? {} : { students: a.students })),
      createLabTemplateVm: async (_: unknown, a: LabArgs & { owner?: string | null }, ctx: GraphQLContext) =>
        operationGraphQL(await templates.createTemplateVm(requirePrincipal(ctx), a.tenant, a.lab, a.owner == null ? {} : { owner: a.owner })),
      publishLabTemplate: async (_: unknown, a: LabArgs & { image?: string | null }, ctx: GraphQLContext) =>
        operationGraphQL(await templates.publishTemplate(requirePrincipal(ctx), a.tenant, a.lab, a.image == null ? {} : { image: a.image })),
    },
  };
}
