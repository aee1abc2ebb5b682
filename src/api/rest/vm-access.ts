import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VmAccessGrant, VmAccessService } from '../../domain/vms/vm-access.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';

type Schemas = components['schemas'];
type Req<P = unknown, B = unknown> = FastifyRequest<{ Params: P; Body: B }>;
type AccessParams = { tenant: string; vm: string; principalId: string };

/** The wire shape of an access grant. */
export function vmAccessDto(g: VmAccessGrant): Schemas['VmAccess'] {
  return { principalId: g.principalId, role: g.role, ...(g.principalType === undefined ? {} : { principalType: g.principalType }) };
}

/** REST handlers for VM access grants (role assignments on the VM's Arc machine). */
export function vmAccessHandlers(access: VmAccessService) {
  return {
    async listVmAccess(req: Req<{ tenant: string; vm: string }>) {
      const body: Schemas['VmAccessList'] = { items: (await access.list(principalOf(req), req.params.tenant, req.params.vm)).map(vmAccessDto) };
      return body;
    },

    async grantVmAccess(req: Req<AccessParams, Schemas['VmAccessGrant']>) {
      const { tenant, vm, principalId } = req.params;
      return vmAccessDto(await access.grant(principalOf(req), tenant, vm, principalId, req.body.role, req.body.principalType));
    },

    async revokeVmAccess(req: Req<AccessParams>, reply: FastifyReply) {
      await access.revoke(principalOf(req), req.params.tenant, req.params.vm, req.params.principalId);
      return reply.code(204).send();
    },
  };
}
