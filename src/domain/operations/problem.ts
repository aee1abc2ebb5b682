import { isDomainError } from '../shared/errors.js';
import type { OperationProblem } from './operation.js';

export const INTERNAL_PROBLEM: OperationProblem = {
  code: 'INTERNAL',
  title: 'The operation failed because of an internal error.',
};

/**
 * The problem to record for `err`. Domain errors keep their code and message (their messages are
 * written to be shown); anything else becomes the generic INTERNAL problem, and `internal` tells
 * the caller to log the original error, which never reaches the record.
 */
export function problemOf(err: unknown): { problem: OperationProblem; internal: boolean } {
  if (isDomainError(err)) return { problem: { code: err.code, title: err.message }, internal: false };
  return { problem: INTERNAL_PROBLEM, internal: true };
}
