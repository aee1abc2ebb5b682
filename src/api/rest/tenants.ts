import type { FastifyReply, FastifyRequest } from 'fastify';
import { contentVersion, etagOf, ifMatchPrecondition, ifMatchVersion } from './etag.js';
import { DEFAULT_PAGE_LIMIT } from '../../domain/shared/page.js';
import type { Member, TenantProfile } from '../../domain/tenants/tenant.js';
import type { TenantService, TenantView } from '../../domain/tenants/tenant-service.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { sendAccepted } from './operations.js';
import { pageBody, pageOfAll, type PageQuery } from './paging.js';
import { costControlsDto, costControlsInputOf } from './cost-controls.js';

type Schemas = components['schemas'];
type Req<P = unknown, Q = unknown, B = unknown, H = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B; Headers: H }>;

/** The wire shape of a tenant (the generated contract type keeps it honest). */
export function tenantDto(t: TenantView): Schemas['Tenant'] {
  return {
    id: t.id,
    displayName: t.displayName,
    ...(t.description === undefined ? {} : { description: t.description }),
    profile: t.profile,
    quota: { ...t.quota },
    vmCaps: { ...t.vmCaps },
    usage: { ...t.usage },
    phase: t.phase,
    createdAt: t.createdAt,
    version: t.version,
    ...(t.costControls === undefined ? {} : { costControls: costControlsDto(t.costControls) }),
  };
}

export function memberDto(m: Member): Schemas['Member'] {
  return {
    principalId: m.principalId,
    principalType: m.principalType,
    role: m.role,
    ...(m.displayName === undefined ? {} : { displayName: m.displayName }),
  };
}

/** A member's ETag: members keep no version, so it is a digest of what a client sees. */
export function memberVersion(m: Member): string {
  return contentVersion(memberDto(m));
}

/** REST handlers for tenants and members, keyed by the contract's operationIds. */
export function tenantHandlers(tenants: TenantService) {
  return {
    async listTenants(req: Req<unknown, { limit?: number; cursor?: string; profile?: TenantProfile }>) {
      const q = req.query;
      const page = await tenants.list(principalOf(req), q.profile === undefined ? {} : { profile: q.profile }, {
        limit: q.limit ?? DEFAULT_PAGE_LIMIT,
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
      const body: Schemas['TenantList'] = { items: page.items.map(tenantDto) };
      if (page.nextCursor !== undefined) body.nextCursor = page.nextCursor;
      return body;
    },

    async createTenant(req: Req<unknown, unknown, Schemas['TenantCreate']>, reply: FastifyReply) {
      const b = req.body;
      const t = await tenants.create(principalOf(req), {
        id: b.id,
        displayName: b.displayName,
        profile: b.profile,
        ...(b.description === undefined ? {} : { description: b.description }),
        ...(b.quota === undefined ? {} : { quota: b.quota }),
        ...(b.vmCaps === undefined ? {} : { vmCaps: b.vmCaps }),
        ...(b.costControls === undefined ? {} : { costControls: costControlsInputOf(b.costControls) }),
        ...(b.owners === undefined
          ? {}
          : {
              owners: b.owners.map((o) => ({
                principalId: o.principalId,
                ...(o.principalType === undefined ? {} : { principalType: o.principalType }),
                ...(o.displayName === undefined ? {} : { displayName: o.displayName }),
              })),
            }),
      });
      return reply.code(201).header('location', `/v1/tenants/${t.id}`).header('etag', etagOf(t.version)).send(tenantDto(t));
    },

    async getTenant(req: Req<{ tenant: string }>, reply: FastifyReply) {
      const t = await tenants.get(principalOf(req), req.params.tenant);
      return reply.header('etag', etagOf(t.version)).send(tenantDto(t));
    },

    async updateTenant(req: Req<{ tenant: string }, unknown, Schemas['TenantPatch'], { 'if-match'?: string }>, reply: FastifyReply) {
      const b = req.body;
      const t = await tenants.update(
        principalOf(req),
        req.params.tenant,
        {
          ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
          ...(b.description === undefined ? {} : { description: b.description }),
          ...(b.quota === undefined ? {} : { quota: b.quota }),
          ...(b.vmCaps === undefined ? {} : { vmCaps: b.vmCaps }),
          ...(b.costControls === undefined ? {} : { costControls: b.costControls === null ? null : costControlsInputOf(b.costControls) }),
        },
        ifMatchVersion(req.headers['if-match']),
      );
      return reply.header('etag', etagOf(t.version)).send(tenantDto(t));
    },

    async deleteTenant(req: Req<{ tenant: string }, { force?: boolean }, unknown, { 'if-match'?: string }>, reply: FastifyReply) {
      const { tenant } = req.params;
      const precondition = ifMatchPrecondition(req.headers['if-match'], (t: { version: string }) => t.version, `Tenant '${tenant}'`);
      return sendAccepted(
        reply,
        await tenants.delete(principalOf(req), tenant, { force: req.query.force === true, ...(precondition === undefined ? {} : { precondition }) }),
      );
    },

    async listMembers(req: Req<{ tenant: string }, PageQuery>) {
      const items = await tenants.listMembers(principalOf(req), req.params.tenant);
      const body: Schemas['MemberList'] = pageBody(
        pageOfAll(items, (m) => m.principalId, req.query),
        memberDto,
      );
      return body;
    },

    async getMember(req: Req<{ tenant: string; principalId: string }>, reply: FastifyReply) {
      const member = await tenants.getMember(principalOf(req), req.params.tenant, req.params.principalId);
      return reply.header('etag', etagOf(memberVersion(member))).send(memberDto(member));
    },

    async putMember(req: Req<{ tenant: string; principalId: string }, unknown, Schemas['MemberPut'], { 'if-match'?: string }>, reply: FastifyReply) {
      const b = req.body;
      const { tenant, principalId } = req.params;
      const { member, created } = await tenants.putMember(
        principalOf(req),
        tenant,
        principalId,
        {
          role: b.role,
          ...(b.principalType === undefined ? {} : { principalType: b.principalType }),
          ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
        },
        ifMatchPrecondition(req.headers['if-match'], memberVersion, `Member '${principalId}'`),
      );
      return reply
        .code(created ? 201 : 200)
        .header('etag', etagOf(memberVersion(member)))
        .send(memberDto(member));
    },

    async deleteMember(req: Req<{ tenant: string; principalId: string }, unknown, unknown, { 'if-match'?: string }>, reply: FastifyReply) {
      const { tenant, principalId } = req.params;
      await tenants.deleteMember(
        principalOf(req),
        tenant,
        principalId,
        ifMatchPrecondition(req.headers['if-match'], memberVersion, `Member '${principalId}'`),
      );
      return reply.code(204).send();
    },
  };
}
