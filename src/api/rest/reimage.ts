import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LabTemplateService } from '../../domain/labs/lab-template.js';
import type { ReimageService } from '../../domain/vms/reimage-service.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { sendAccepted } from './operations.js';
import { vmDto } from './vms.js';

type Schemas = components['schemas'];
type Req<P = unknown, B = unknown> = FastifyRequest<{ Params: P; Body: B }>;
type VmParams = { tenant: string; vm: string };
type LabParams = { tenant: string; lab: string };

/** REST handlers for VM and lab reimages and labs' template VMs, keyed by the contract's operationIds. */
export function reimageHandlers(reimage: ReimageService, templates: LabTemplateService) {
  return {
    async reimageVm(req: Req<VmParams, Schemas['VmReimage'] | undefined>, reply: FastifyReply) {
      const b = req.body ?? {};
      const op = await reimage.reimage(principalOf(req), req.params.tenant, req.params.vm, {
        ...(b.image === undefined ? {} : { image: { scope: b.image.scope, name: b.image.name } }),
        ...(b.sshPublicKeys === undefined ? {} : { sshPublicKeys: b.sshPublicKeys }),
        ...(b.cloudInit === undefined ? {} : { cloudInit: b.cloudInit }),
      });
      return sendAccepted(reply, op);
    },

    async reimageLab(req: Req<LabParams, Schemas['LabReimage'] | undefined>, reply: FastifyReply) {
      const students = req.body?.students;
      const op = await templates.reimageLab(principalOf(req), req.params.tenant, req.params.lab, students === undefined ? {} : { students });
      return sendAccepted(reply, op);
    },

    async createLabTemplateVm(req: Req<LabParams, Schemas['LabTemplateVmCreate'] | undefined>, reply: FastifyReply) {
      const owner = req.body?.owner;
      const op = await templates.createTemplateVm(principalOf(req), req.params.tenant, req.params.lab, owner === undefined ? {} : { owner });
      return sendAccepted(reply, op);
    },

    async getLabTemplateVm(req: Req<LabParams>) {
      return vmDto(await templates.getTemplateVm(principalOf(req), req.params.tenant, req.params.lab));
    },

    async publishLabTemplate(req: Req<LabParams, Schemas['LabTemplatePublish'] | undefined>, reply: FastifyReply) {
      const image = req.body?.image;
      const op = await templates.publishTemplate(principalOf(req), req.params.tenant, req.params.lab, image === undefined ? {} : { image });
      return sendAccepted(reply, op);
    },
  };
}
