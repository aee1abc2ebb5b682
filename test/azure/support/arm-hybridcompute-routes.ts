import { armError, type ArmRequest, type ArmResponse, type ArmState } from './arm-state.js';

const API_VERSION = '2021-05-20';

/**
 * `Microsoft.HybridCompute` as ARM serves it for the calls the adapter makes: machines get, list
 * (paged with `nextLink`) and delete; extension PUT as a long-running operation answering 201 with
 * `Azure-AsyncOperation` and `Location`; the operation status endpoint; extension GET.
 * Names compare case-insensitively, as in ARM. Returns undefined for paths it does not serve.
 */
export function hybridComputeRoute(state: ArmState, req: ArmRequest, baseUrl: string): ArmResponse | undefined {
  const sub = state.subscriptionId.toLowerCase();
  const rg = state.resourceGroup.toLowerCase();
  const p = req.path.toLowerCase();
  const machinesPrefix = `/subscriptions/${sub}/resourcegroups/${rg}/providers/microsoft.hybridcompute/machines`;
  const opPrefix = `/subscriptions/${sub}/providers/microsoft.hybridcompute/locations/${state.location}/operationstatus/`;

  if (p.startsWith(opPrefix) && req.method === 'GET') {
    const op = state.operations.get(p.slice(opPrefix.length));
    if (op === undefined) return armError(404, 'OperationNotFound', 'The operation was not found.');
    if (op.pollsLeft > 0) {
      op.pollsLeft -= 1;
      return { status: 200, headers: { 'retry-after': '1' }, body: { id: req.path, name: op.id, status: 'InProgress', startTime: op.startTime } };
    }
    const end = { id: req.path, name: op.id, startTime: op.startTime, endTime: new Date().toISOString() };
    return op.failure === undefined
      ? { status: 200, body: { ...end, status: 'Succeeded' } }
      : { status: 200, body: { ...end, status: 'Failed', error: op.failure } };
  }

  if (p === machinesPrefix && req.method === 'GET') {
    const all = [...state.machines.values()].sort((a, b) => a.name.localeCompare(b.name));
    const skip = Number(req.query.get('$skiptoken') ?? '0');
    const page = all.slice(skip, skip + state.pageSize);
    const more = skip + state.pageSize < all.length;
    const nextLink = `${baseUrl}${req.path}?api-version=${API_VERSION}&$skiptoken=${skip + state.pageSize}`;
    return { status: 200, body: { value: page.map((m) => state.machineJson(m)), ...(more ? { nextLink } : {}) } };
  }

  if (!p.startsWith(`${machinesPrefix}/`)) return undefined;
  const rest = req.path.slice(machinesPrefix.length + 1).split('/');
  const machineName = rest[0] ?? '';
  const machine = state.machines.get(machineName.toLowerCase());

  if (rest.length === 1) {
    if (req.method === 'GET') {
      return machine === undefined
        ? armError(
            404,
            'ResourceNotFound',
            `The Resource 'Microsoft.HybridCompute/machines/${machineName}' under resource group '${state.resourceGroup}' was not found.`,
          )
        : { status: 200, body: state.machineJson(machine) };
    }
    if (req.method === 'DELETE') {
      if (machine === undefined) return { status: 204 };
      state.machines.delete(machineName.toLowerCase());
      for (const [k, e] of state.extensions) if (e.machine.toLowerCase() === machineName.toLowerCase()) state.extensions.delete(k);
      const scope = state.machineId(machine.name).toLowerCase();
      for (const [k, a] of state.assignments) if (a.scope.toLowerCase() === scope) state.assignments.delete(k);
      return { status: 200 };
    }
    return armError(405, 'MethodNotAllowed', 'The method is not allowed.');
  }

  if (rest.length === 3 && (rest[1] ?? '').toLowerCase() === 'extensions') {
    const extName = rest[2] ?? '';
    const key = `${machineName}/${extName}`.toLowerCase();
    if (machine === undefined) {
      return armError(
        404,
        'ParentResourceNotFound',
        `Can not perform requested operation on nested resource. Parent resource '${machineName}' not found.`,
      );
    }
    if (req.method === 'GET') {
      const ext = state.extensions.get(key);
      return ext === undefined
        ? armError(404, 'ResourceNotFound', `The Resource 'Microsoft.HybridCompute/machines/${machineName}/extensions/${extName}' was not found.`)
        : { status: 200, body: state.extensionJson(ext) };
    }
    if (req.method === 'PUT') {
      const body = (req.body ?? {}) as { location?: unknown; properties?: { publisher?: unknown; type?: unknown } };
      if (typeof body.location !== 'string' || typeof body.properties?.publisher !== 'string' || typeof body.properties.type !== 'string') {
        return armError(
          400,
          'InvalidRequestContent',
          'The request content was invalid: location, properties.publisher and properties.type are required.',
        );
      }
      const id = state.nextId();
      const failure = state.extensionFailures.get(machineName.toLowerCase());
      state.extensionFailures.delete(machineName.toLowerCase());
      state.operations.set(id, {
        id,
        machine: machine.name,
        extension: extName,
        pollsLeft: state.pollsUntilDone,
        failure,
        startTime: new Date().toISOString(),
      });
      const ext = { name: extName, machine: machine.name, publisher: body.properties.publisher, type: body.properties.type, operationId: id };
      state.extensions.set(key, ext);
      const ops = `${baseUrl}/subscriptions/${state.subscriptionId}/providers/Microsoft.HybridCompute/locations/${state.location}`;
      return {
        status: 201,
        headers: {
          'azure-asyncoperation': `${ops}/operationStatus/${id}?api-version=${API_VERSION}`,
          location: `${ops}/operationResults/${id}?api-version=${API_VERSION}`,
          'retry-after': '1',
        },
        body: state.extensionJson(ext),
      };
    }
    return armError(405, 'MethodNotAllowed', 'The method is not allowed.');
  }
  return undefined;
}
