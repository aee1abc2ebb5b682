/** State of the fake ARM subscription behind the over-the-wire tests, in ARM's own JSON shapes. */

export interface ArmRequest {
  readonly method: string;
  /** Path as sent (before normalisation). */
  readonly rawPath: string;
  /** Path with repeated slashes collapsed and no trailing slash. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

export interface ArmResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: unknown;
}

export interface MachineRecord {
  name: string;
  status: 'Connected' | 'Disconnected' | 'Error' | undefined;
  tags: Record<string, string>;
  lastStatusChange: string;
  agentVersion: string;
}

export interface ExtensionOperation {
  readonly id: string;
  readonly machine: string;
  readonly extension: string;
  /** Status reads left before the operation ends. */
  pollsLeft: number;
  readonly failure: { code: string; message: string } | undefined;
  readonly startTime: string;
}

export interface ExtensionRecord {
  name: string;
  machine: string;
  publisher: string;
  type: string;
  operationId: string;
}

export interface AssignmentRecord {
  scope: string;
  name: string;
  roleDefinitionId: string;
  principalId: string;
  principalType: string | undefined;
}

export class ArmState {
  readonly machines = new Map<string, MachineRecord>();
  readonly extensions = new Map<string, ExtensionRecord>();
  readonly operations = new Map<string, ExtensionOperation>();
  readonly assignments = new Map<string, AssignmentRecord>();
  readonly extensionFailures = new Map<string, { code: string; message: string }>();
  /** Status reads an extension operation answers InProgress before it ends. */
  pollsUntilDone = 2;
  /** Machines per page of a list. */
  pageSize = 100;
  roleAssignmentLimit = 5000;
  private seq = 0;

  constructor(
    readonly subscriptionId: string,
    readonly resourceGroup: string,
    readonly location: string,
  ) {}

  nextId(): string {
    this.seq += 1;
    return `00000000-0000-4000-8000-${this.seq.toString(16).padStart(12, '0')}`;
  }

  machineId(name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${this.resourceGroup}/providers/Microsoft.HybridCompute/machines/${name}`;
  }

  machineJson(m: MachineRecord): Record<string, unknown> {
    return {
      id: this.machineId(m.name),
      name: m.name,
      type: 'Microsoft.HybridCompute/machines',
      location: this.location,
      tags: m.tags,
      identity: { type: 'SystemAssigned', principalId: '11111111-2222-4333-8444-555555555555', tenantId: '66666666-7777-4888-8999-000000000000' },
      properties: {
        provisioningState: 'Succeeded',
        ...(m.status === undefined ? {} : { status: m.status }),
        lastStatusChange: m.lastStatusChange,
        agentVersion: m.agentVersion,
        displayName: m.name,
        machineFqdn: m.name,
        osName: 'linux',
        osVersion: '6.8.0-1021-azure',
        osSku: 'Ubuntu 24.04.1 LTS',
        vmId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
        errorDetails: [],
      },
    };
  }

  extensionState(e: ExtensionRecord): string {
    const op = this.operations.get(e.operationId);
    if (op === undefined || op.pollsLeft > 0) return 'Creating';
    return op.failure === undefined ? 'Succeeded' : 'Failed';
  }

  extensionJson(e: ExtensionRecord): Record<string, unknown> {
    return {
      id: `${this.machineId(e.machine)}/extensions/${e.name}`,
      name: e.name,
      type: 'Microsoft.HybridCompute/machines/extensions',
      location: this.location,
      properties: {
        publisher: e.publisher,
        type: e.type,
        typeHandlerVersion: '1.0.2385.1',
        autoUpgradeMinorVersion: true,
        provisioningState: this.extensionState(e),
      },
    };
  }

  assignmentJson(a: AssignmentRecord): Record<string, unknown> {
    return {
      id: `${a.scope}/providers/Microsoft.Authorization/roleAssignments/${a.name}`,
      name: a.name,
      type: 'Microsoft.Authorization/roleAssignments',
      properties: {
        scope: a.scope,
        roleDefinitionId: a.roleDefinitionId,
        principalId: a.principalId,
        ...(a.principalType === undefined ? {} : { principalType: a.principalType }),
        createdOn: '2025-01-01T00:00:00.0000000Z',
        updatedOn: '2025-01-01T00:00:00.0000000Z',
        createdBy: '99999999-8888-4777-8666-555555555555',
      },
    };
  }
}

export const armError = (status: number, code: string, message: string, headers: Record<string, string> = {}): ArmResponse => ({
  status,
  headers,
  body: { error: { code, message } },
});
