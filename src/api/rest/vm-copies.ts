import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VmCopyService } from '../../domain/vms/vm-copy-service.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { sendAccepted } from './operations.js';

type Schemas = components['schemas'];
type Req<B> = FastifyRequest<{ Params: { tenant: string; vm: string }; Body: B }>;

/** REST handlers for clones of VMs and VMs published as images, keyed by the contract's operationIds. */
export function vmCopyHandlers(copies: VmCopyService) {
  return {
    async cloneVm(req: Req<Schemas['VmClone']>, reply: FastifyReply) {
      const b = req.body;
      const op = await copies.clone(principalOf(req), req.params.tenant, req.params.vm, {
        name: b.name,
        ...(b.owner === undefined ? {} : { owner: b.owner }),
        ...(b.running === undefined ? {} : { running: b.running }),
        ...(b.sshPublicKeys === undefined ? {} : { sshPublicKeys: b.sshPublicKeys }),
      });
      return sendAccepted(reply, op);
    },

    async publishVm(req: Req<Schemas['VmPublish']>, reply: FastifyReply) {
      const b = req.body;
      const op = await copies.publish(principalOf(req), req.params.tenant, req.params.vm, {
        image: b.image,
        ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
        ...(b.stopFirst === undefined ? {} : { stopFirst: b.stopFirst }),
      });
      return sendAccepted(reply, op);
    },
  };
}
