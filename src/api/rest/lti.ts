import type { FastifyReply, FastifyRequest } from 'fastify';
import type { LtiRegistrationService } from '../../domain/lti/registration-service.js';
import type { LtiRegistration, LtiRegistrationInput } from '../../domain/lti/registration.js';
import { pageBody, pageOfAll, type PageQuery } from './paging.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { etagOf, ifMatchPrecondition, ifMatchVersion } from './etag.js';

type Schemas = components['schemas'];
type Req<P = unknown, B = unknown> = FastifyRequest<{ Params: P; Body: B; Headers: { 'if-match'?: string } }>;
type TenantParams = { tenant: string };
type RegistrationParams = { tenant: string; id: string };

/** The wire shape of a registration. */
export function ltiRegistrationDto(r: LtiRegistration): Schemas['LtiRegistration'] {
  return {
    id: r.id,
    tenant: r.tenant,
    ...(r.displayName === undefined ? {} : { displayName: r.displayName }),
    issuer: r.issuer,
    clientId: r.clientId,
    deploymentIds: [...r.deploymentIds],
    authLoginUrl: r.authLoginUrl,
    accessTokenUrl: r.accessTokenUrl,
    jwksUrl: r.jwksUrl,
    createdAt: r.createdAt,
    createdBy: r.createdBy,
  };
}

export function ltiRegistrationInputOf(b: Schemas['LtiRegistrationInput']): LtiRegistrationInput {
  return {
    ...(b.displayName === undefined ? {} : { displayName: b.displayName }),
    issuer: b.issuer,
    clientId: b.clientId,
    deploymentIds: b.deploymentIds,
    authLoginUrl: b.authLoginUrl,
    accessTokenUrl: b.accessTokenUrl,
    jwksUrl: b.jwksUrl,
  };
}

/** The origin the tool's URLs are made from: PUBLIC_URL when set, else the request's own. */
export function publicOrigin(req: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${req.protocol}://${req.host}`;
}

/** REST handlers for LTI registrations, the tool configuration and the tool's keys. */
export function ltiHandlers(lti: LtiRegistrationService, publicUrl: string | undefined) {
  return {
    async getLtiJwks(_req: FastifyRequest, reply: FastifyReply) {
      return reply
        .header('cache-control', 'public, max-age=300')
        .type('application/json')
        .send(await lti.jwks());
    },

    async rotateLtiKeys(req: FastifyRequest, reply: FastifyReply) {
      await lti.rotateKeys(principalOf(req));
      return reply.code(204).send();
    },

    async listLtiRegistrations(req: FastifyRequest<{ Params: TenantParams; Querystring: PageQuery }>): Promise<Schemas['LtiRegistrationList']> {
      return pageBody(
        pageOfAll(await lti.list(principalOf(req), req.params.tenant), (r) => r.id, req.query),
        ltiRegistrationDto,
      );
    },

    async createLtiRegistration(req: Req<TenantParams, Schemas['LtiRegistrationInput']>, reply: FastifyReply) {
      const r = await lti.create(principalOf(req), req.params.tenant, ltiRegistrationInputOf(req.body));
      return reply
        .code(201)
        .header('location', `/v1/tenants/${req.params.tenant}/lti/registrations/${r.id}`)
        .header('etag', etagOf(r.version))
        .send(ltiRegistrationDto(r));
    },

    async getLtiRegistration(req: Req<RegistrationParams>, reply: FastifyReply) {
      const r = await lti.get(principalOf(req), req.params.tenant, req.params.id);
      return reply.header('etag', etagOf(r.version)).send(ltiRegistrationDto(r));
    },

    async updateLtiRegistration(req: Req<RegistrationParams, Schemas['LtiRegistrationInput']>, reply: FastifyReply) {
      const r = await lti.update(
        principalOf(req),
        req.params.tenant,
        req.params.id,
        ltiRegistrationInputOf(req.body),
        ifMatchVersion(req.headers['if-match']),
      );
      return reply.header('etag', etagOf(r.version)).send(ltiRegistrationDto(r));
    },

    async deleteLtiRegistration(req: Req<RegistrationParams>, reply: FastifyReply) {
      const { tenant, id } = req.params;
      await lti.delete(
        principalOf(req),
        tenant,
        id,
        ifMatchPrecondition(req.headers['if-match'], (r: { version: string }) => r.version, `Registration '${id}'`),
      );
      return reply.code(204).send();
    },

    async getLtiToolConfiguration(req: Req<TenantParams>) {
      return lti.toolConfiguration(principalOf(req), req.params.tenant, publicOrigin(req, publicUrl));
    },
  };
}
