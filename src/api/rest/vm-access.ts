import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VmAccessGrant, VmAccessService } from '../../domain/vms/vm-access.js';
import { contentVersion, etagOf, ifMatchPrecondition } from './etag.js';
import { pageBody, pageOfAll, type PageQuery } from './paging.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';

type Schemas = components['schemas'];
type Req<P = unknown, B = unknown> = FastifyRequest<{ Params: P; Body: B; Headers: { 'if-match'?: string } }>;
type AccessParams = { tenant: string; vm: string; principalId: string };

/** The wire shape of an access grant. */
export function vmAccessDto(g: VmAccessGrant): Schemas['VmAccess'] {
  return { principalId: g.principalId, role: g.role, ...(g.principalType === undefined ? {} : { principalType: g.principalType }) };
}

/**
 * The ETag of one principal's access on a VM (`GET .../access/{principalId}`: its grants, one per
 * role): a digest of what a client sees, as role assignments keep no version to compare.
 */
export function accessVersion(grants: readonly VmAccessGrant[]): string {
  return contentVersion(grants.map(vmAccessDto));
}

/** REST handlers for VM access grants (role assignments on the VM's Arc machine). */
export function vmAccessHandlers(access: VmAccessService) {
  return {
    async listVmAccess(req: FastifyRequest<{ Params: { tenant: string; vm: string }; Querystring: PageQuery }>) {
      const grants = await access.list(principalOf(req), req.params.tenant, req.params.vm);
      // A principal holds at most one grant per role: principal and role together are the key.
      const body: Schemas['VmAccessList'] = pageBody(
        pageOfAll(grants, (g) => `${g.principalId}\u0000${g.role}`, req.query),
        vmAccessDto,
      );
      return body;
    },

    async getVmAccess(req: Req<AccessParams>, reply: FastifyReply) {
      const { tenant, vm, principalId } = req.params;
      const grants = await access.get(principalOf(req), tenant, vm, principalId);
      const body: Schemas['VmAccessList'] = { items: grants.map(vmAccessDto) };
      return reply.header('etag', etagOf(accessVersion(grants))).send(body);
    },

    /** Answers the grant made, with the ETag of the principal's access as it is now (what GET of it answers). */
    async grantVmAccess(req: Req<AccessParams, Schemas['VmAccessGrant']>, reply: FastifyReply) {
      const { tenant, vm, principalId } = req.params;
      const precondition = ifMatchPrecondition(req.headers['if-match'], accessVersion, `Access of '${principalId}'`);
      const grant = await access.grant(
        principalOf(req),
        tenant,
        vm,
        principalId,
        req.body.role,
        req.body.principalType,
        precondition && ((g) => precondition(g.length === 0 ? undefined : g)),
      );
      // The role assignment list may lag behind the write it answers (ARM); the grant just made is then all there is.
      const now = await access.get(principalOf(req), tenant, vm, principalId).catch(() => [grant]);
      return reply.header('etag', etagOf(accessVersion(now))).send(vmAccessDto(grant));
    },

    async revokeVmAccess(req: Req<AccessParams>, reply: FastifyReply) {
      const { tenant, vm, principalId } = req.params;
      const precondition = ifMatchPrecondition(req.headers['if-match'], accessVersion, `Access of '${principalId}'`);
      await access.revoke(principalOf(req), tenant, vm, principalId, precondition && ((g) => precondition(g.length === 0 ? undefined : g)));
      return reply.code(204).send();
    },
  };
}
