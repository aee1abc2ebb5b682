import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { refusalOf } from '../../src/adapters/kubernetes/vm-guest.js';

const status = (code: number, reason: string, message: string, details: Record<string, unknown> = {}): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, message, details, code });
const answer = (code: number, body: string) => new ApiException<string>(code, `HTTP ${code}`, body, {});

describe('virt-api refusals of the userlist subresource', () => {
  it("reads virt-api's plain-text 500 answers by their text", () => {
    expect(
      refusalOf(answer(500, 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI does not have guest agent connected')),
    ).toBe('guest-agent-not-connected');
    expect(refusalOf(answer(500, 'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI is not running'))).toBe(
      'vm-not-running',
    );
    expect(refusalOf(answer(500, 'virtualmachineinstance.kubevirt.io "vm1" not found'))).toBe('vm-not-running');
  });

  it('reads the same refusals sent as a JSON Status (404 NotFound, 409 Conflict)', () => {
    expect(
      refusalOf(
        answer(404, status(404, 'NotFound', 'virtualmachineinstance.kubevirt.io "vm1" not found', { name: 'vm1', kind: 'virtualmachineinstance' })),
      ),
    ).toBe('vm-not-running');
    expect(
      refusalOf(
        answer(
          409,
          status(
            409,
            'Conflict',
            'Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": VMI does not have guest agent connected',
          ),
        ),
      ),
    ).toBe('guest-agent-not-connected');
  });

  it('a 404 that names no object means the cluster does not serve the subresource', () => {
    expect(refusalOf(answer(404, status(404, 'NotFound', 'the server could not find the requested resource')))).toBe('not-served');
  });

  it('anything else is not a refusal: real failures, RBAC, throttling, other conflicts, a name that only looks alike', () => {
    expect(
      refusalOf(answer(500, status(500, 'InternalError', 'Internal error occurred: dial tcp 10.0.0.1:8186: connect: connection refused'))),
    ).toBeUndefined();
    expect(refusalOf(answer(500, 'Cannot GET request https://10.0.0.1:8186/v1/namespaces/t/virtualmachineinstances/vm1/userlist'))).toBeUndefined();
    expect(refusalOf(answer(503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')))).toBeUndefined();
    expect(
      refusalOf(
        answer(
          403,
          status(
            403,
            'Forbidden',
            'virtualmachineinstances.subresources.kubevirt.io "vm1" is forbidden: User "x" cannot get resource "virtualmachineinstances/userlist"',
          ),
        ),
      ),
    ).toBeUndefined();
    expect(refusalOf(answer(429, status(429, 'TooManyRequests', 'Too many requests')))).toBeUndefined();
    expect(refusalOf(answer(409, status(409, 'Conflict', 'Operation cannot be fulfilled: the object has been modified')))).toBeUndefined();
    expect(refusalOf(answer(500, 'secrets "VMI is not running" not found, and more'))).toBeUndefined();
    expect(refusalOf(new Error('VMI is not running'))).toBeUndefined();
  });
});
