import type { Operation } from '../../domain/operations/operation.js';
import { operationDto } from '../rest/operations.js';

/** The REST view of an operation, with `result` as a JSON string (GraphQL has no free-form objects). */
export function operationGraphQL(op: Operation) {
  const dto = operationDto(op);
  return { ...dto, result: dto.result === undefined ? null : JSON.stringify(dto.result) };
}
