import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError } from '../shared/errors.js';
import { NODE_EVACUATE_KIND, type NodeRecord } from './vm.js';
import type { VmRepository } from './vm-repository.js';

/** A node with the number of VMs running on it. */
export interface NodeView extends NodeRecord {
  readonly virtualMachines: number;
}

export type NodeService = ReturnType<typeof createNodeService>;

/** Most VMs one evacuation migrates at once (each migration moves a whole VM's memory over the network). */
export const EVACUATION_PARALLELISM = 4;

/** Node use cases, for platform administrators only. */
export function createNodeService(deps: {
  readonly repo: Pick<VmRepository, 'nodes' | 'list'>;
  readonly operations: Pick<OperationService, 'start' | 'list'>;
}) {
  const { repo } = deps;
  // Evacuation requests for one node are decided one after the other in this process, so two at
  // once cannot both find none running. (Across API instances the check is not atomic: a second
  // evacuation started there finds nothing left to migrate and ends at once.)
  const deciding = new Map<string, Promise<unknown>>();

  async function startEvacuation(p: Principal, node: string): Promise<Operation> {
    const running = await deps.operations.list(
      p,
      { kind: NODE_EVACUATE_KIND, target: { type: 'node', id: node }, status: ['queued', 'running'] },
      { limit: 1 },
    );
    const current = running.items[0];
    if (current !== undefined) {
      throw new ConflictError('NODE_EVACUATION_RUNNING', `Node '${node}' is already being evacuated by operation ${current.id}.`, {
        details: { operationId: current.id },
      });
    }
    return deps.operations.start(p, {
      kind: NODE_EVACUATE_KIND,
      target: { type: 'node', id: node, name: node },
      input: { node, parallelism: EVACUATION_PARALLELISM },
    });
  }

  return {
    async list(p: Principal): Promise<readonly NodeView[]> {
      authorize(p, 'node.read');
      const [nodes, vms] = await Promise.all([repo.nodes(), repo.list()]);
      const counts = new Map<string, number>();
      for (const vm of vms) if (vm.nodeName !== undefined) counts.set(vm.nodeName, (counts.get(vm.nodeName) ?? 0) + 1);
      return nodes.map((n) => ({ ...n, virtualMachines: counts.get(n.name) ?? 0 }));
    },

    /**
     * Starts evacuating a node (`node.evacuate`): a parent operation that live-migrates every VM
     * running there, one child `vm.migrate` operation per VM (`parentId`), at most
     * {@link EVACUATION_PARALLELISM} at a time. VMs that cannot move (not live-migratable, no quota
     * headroom) are skipped and listed in the result with the reason. A node already being
     * evacuated is ConflictError `NODE_EVACUATION_RUNNING` naming the running operation.
     */
    async evacuate(p: Principal, node: string): Promise<Operation> {
      authorize(p, 'node.evacuate');
      if (!(await repo.nodes()).some((n) => n.name === node)) throw new NotFoundError('node', node);
      const before = deciding.get(node) ?? Promise.resolve();
      const mine = before.then(() => startEvacuation(p, node));
      const settled = mine.catch(() => undefined);
      deciding.set(node, settled);
      void settled.then(() => {
        if (deciding.get(node) === settled) deciding.delete(node);
      });
      return mine;
    },
  };
}
