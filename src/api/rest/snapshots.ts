import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SnapshotRecord } from '../../domain/vms/snapshot.js';
import type { SnapshotService } from '../../domain/vms/snapshot-service.js';
import { contentVersion, etagOf, ifMatchPrecondition } from './etag.js';
import { pageBody, pageOfAll, type PageQuery } from './paging.js';
import type { components } from '../generated/openapi.js';
import { principalOf } from '../plugins/auth.js';
import { sendAccepted } from './operations.js';

type Schemas = components['schemas'];
type Req<P = unknown, B = unknown> = FastifyRequest<{ Params: P; Body: B; Headers: { 'if-match'?: string } }>;
type VmParams = { tenant: string; vm: string };
type SnapshotParams = VmParams & { snapshot: string };

/** The wire shape of a VM snapshot. */
export function snapshotDto(s: SnapshotRecord): Schemas['VmSnapshot'] {
  return {
    tenant: s.tenant,
    vm: s.vm,
    name: s.name,
    phase: s.phase,
    readyToUse: s.readyToUse,
    online: s.online,
    indications: [...s.indications],
    ...(s.error === undefined ? {} : { error: s.error }),
    ...(s.creationTime === undefined ? {} : { creationTime: s.creationTime }),
    sizeGi: s.sizeGi,
    createdAt: s.createdAt,
    deleting: s.deleting,
  };
}

/** A snapshot's ETag: a digest of what a client sees (the store keeps no version to compare). */
export function snapshotVersion(s: SnapshotRecord): string {
  return contentVersion(snapshotDto(s));
}

/** REST handlers for VM snapshots and restores, keyed by the contract's operationIds. */
export function snapshotHandlers(snapshots: SnapshotService) {
  return {
    async listVmSnapshots(req: FastifyRequest<{ Params: VmParams; Querystring: PageQuery }>) {
      const items = await snapshots.list(principalOf(req), req.params.tenant, req.params.vm);
      const body: Schemas['VmSnapshotList'] = pageBody(
        pageOfAll(items, (s) => s.name, req.query),
        snapshotDto,
      );
      return body;
    },

    async createVmSnapshot(req: Req<VmParams, Schemas['VmSnapshotCreate'] | undefined>, reply: FastifyReply) {
      const name = req.body?.name;
      const op = await snapshots.create(principalOf(req), req.params.tenant, req.params.vm, name === undefined ? {} : { name });
      return sendAccepted(reply, op);
    },

    async getVmSnapshot(req: Req<SnapshotParams>, reply: FastifyReply) {
      const s = await snapshots.get(principalOf(req), req.params.tenant, req.params.vm, req.params.snapshot);
      return reply.header('etag', etagOf(snapshotVersion(s))).send(snapshotDto(s));
    },

    async deleteVmSnapshot(req: Req<SnapshotParams>, reply: FastifyReply) {
      const { tenant, vm, snapshot } = req.params;
      await snapshots.delete(
        principalOf(req),
        tenant,
        vm,
        snapshot,
        ifMatchPrecondition(req.headers['if-match'], snapshotVersion, `Snapshot '${snapshot}'`),
      );
      return reply.code(204).send();
    },

    async restoreVm(req: Req<VmParams, Schemas['VmRestore']>, reply: FastifyReply) {
      const { snapshot, stopFirst } = req.body;
      const op = await snapshots.restore(principalOf(req), req.params.tenant, req.params.vm, {
        snapshot,
        ...(stopFirst === undefined ? {} : { stopFirst }),
      });
      return sendAccepted(reply, op);
    },
  };
}
