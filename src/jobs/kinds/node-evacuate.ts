import type { ErrorCode } from '../../domain/shared/error-codes.js';
import { makePrincipal } from '../../domain/auth/principal.js';
import { isTerminal, type Operation } from '../../domain/operations/operation.js';
import { ConflictError, QuotaExceededError } from '../../domain/shared/errors.js';
import { EVACUATION_PARALLELISM } from '../../domain/vms/node-service.js';
import { NODE_EVACUATE_KIND } from '../../domain/vms/vm.js';
import type { VmRepository } from '../../domain/vms/vm-repository.js';
import type { VmService } from '../../domain/vms/vm-service.js';
import { WAIT_ON_CHILDREN, type JobKind } from '../job-kind.js';

export interface NodeEvacuateDeps {
  readonly repo: Pick<VmRepository, 'list'>;
  /** Starts each child migration through the use case, so every check (state, headroom) applies. */
  readonly vms: Pick<VmService, 'migrate'>;
  /** Child operations of a parent, oldest first. */
  readonly children: (parentId: string) => Promise<readonly Operation[]>;
  /** Delay between looks at the children, ms (default 1000). */
  readonly recheckMs?: number;
}

/**
 * `node.evacuate`: live-migrates every VM running on the node, starting one child `vm.migrate`
 * operation per VM (`parentId` = this operation) with at most `parallelism` running at once, and
 * re-checks until every child finished. A VM the use case refuses to migrate (not live-migratable,
 * no quota headroom, not Running) is skipped and listed with the reason. Idempotent: the children
 * already started are read back from the operation store, never started twice. The result says
 * whether the node is empty (`complete`).
 */
export function nodeEvacuateJob(deps: NodeEvacuateDeps): JobKind {
  const recheckMs = deps.recheckMs ?? 1_000;
  return {
    kind: NODE_EVACUATE_KIND,
    firstStep: 'dispatch',
    retry: { attempts: 6, baseDelayMs: 1_000, maxDelayMs: 30_000 },
    wait: WAIT_ON_CHILDREN,
    steps: {
      dispatch: async ({ operation }) => {
        const node = String(operation.input['node'] ?? '');
        const parallelism = typeof operation.input['parallelism'] === 'number' ? operation.input['parallelism'] : EVACUATION_PARALLELISM;
        // The admin who asked; the use case authorizes each migration as them.
        const admin = makePrincipal({ id: operation.createdBy, platformAdmin: true });
        const children = await deps.children(operation.id);
        const started = new Set(children.map((c) => c.target.id));
        let running = children.filter((c) => !isTerminal(c.status)).length;
        const onNode = (await deps.repo.list()).filter((vm) => vm.nodeName === node && vm.instance !== undefined);
        const skipped: Array<{ vm: string; code: ErrorCode; reason: string }> = [];
        for (const vm of onNode) {
          const id = `${vm.tenant}/${vm.name}`;
          if (started.has(id)) continue;
          if (running >= parallelism) break;
          try {
            await deps.vms.migrate(admin, vm.tenant, vm.name, { parentId: operation.id });
            started.add(id);
            running += 1;
          } catch (err) {
            if (!(err instanceof ConflictError || err instanceof QuotaExceededError)) throw err;
            skipped.push({ vm: id, code: err.code, reason: err.message });
          }
        }
        const waiting = onNode.filter(
          (vm) => !started.has(`${vm.tenant}/${vm.name}`) && !skipped.some((s) => s.vm === `${vm.tenant}/${vm.name}`),
        ).length;
        const total = Math.max(1, started.size + skipped.length + waiting);
        const finished = children.filter((c) => isTerminal(c.status));
        if (running > 0 || waiting > 0) {
          return { type: 'recheck', delayMs: recheckMs, progress: Math.min(99, ((finished.length + skipped.length) / total) * 100) };
        }
        const latest = await deps.children(operation.id);
        return {
          type: 'done',
          result: {
            node,
            complete: onNode.length === 0,
            migrated: latest.filter((c) => c.status === 'succeeded').map((c) => c.target.id),
            failed: latest
              .filter((c) => c.status === 'failed' || c.status === 'canceled')
              .map((c) => ({ vm: c.target.id, code: c.error?.code ?? c.status })),
            skipped,
          },
        };
      },
    },
  };
}
