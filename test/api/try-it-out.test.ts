import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../support/contract.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { restClient } from '../vms/support.js';

/**
 * What Swagger UI's "Try it out" sends: the contract's example of each request body (the first
 * named example of the media type, else the schema's first `examples` entry), against the
 * embedded default. In order, so the examples build on each other as a user would: the tenant of
 * the tenant example, the VM of the VM example, and so on.
 */
const contract = loadContract();

function requestExample(operationId: string): unknown {
  const body = contract.deref<{ content?: Record<string, { schema?: unknown; examples?: Record<string, { value: unknown }> }> }>(
    contract.operation(operationId)['requestBody'],
  );
  const media = body?.content?.['application/json'];
  const named = Object.values(media?.examples ?? {})[0];
  if (named !== undefined) return named.value;
  const schema = contract.deref<{ examples?: unknown[] }>(media?.schema);
  return schema?.examples?.[0];
}

/** operationId, method, path (the example's names filled in), the status a user sees. */
const STEPS: ReadonlyArray<readonly [string, 'post' | 'put' | 'patch', string, number]> = [
  ['createTenant', 'post', '/v1/tenants', 201],
  ['updateTenant', 'patch', '/v1/tenants/cs101', 200],
  ['putMember', 'put', '/v1/tenants/cs101/members/ann', 201],
  ['importImage', 'post', '/v1/images', 202],
  ['importTenantImage', 'post', '/v1/tenants/cs101/images', 202],
  ['createVm', 'post', '/v1/tenants/cs101/vms', 202],
  ['updateVm', 'patch', '/v1/tenants/cs101/vms/web-1', 200],
  ['createConsoleTicket', 'post', '/v1/tenants/cs101/vms/web-1/console', 201],
  ['createVmSnapshot', 'post', '/v1/tenants/cs101/vms/web-1/snapshots', 202],
  ['grantVmAccess', 'put', '/v1/tenants/cs101/vms/web-arc/access/ann', 200],
  ['createLab', 'post', '/v1/tenants/cs101/labs', 202],
  ['updateLab', 'patch', '/v1/tenants/cs101/labs/cs101-fall', 200],
  ['syncLabRoster', 'put', '/v1/tenants/cs101/labs/cs101-fall/roster', 202],
  ['createWebhook', 'post', '/v1/tenants/cs101/webhooks', 201],
  ['createLtiRegistration', 'post', '/v1/tenants/cs101/lti/registrations', 201],
];

/**
 * Operations whose example is not sent here, and why (most need a resource of a name the example
 * cannot know: a snapshot, a template VM, a student with a quota, the id a create answered).
 */
const NOT_SENT: Readonly<Record<string, string>> = {
  createDevToken: 'sent first, to sign in',
  postGraphQL: 'GraphQL, tried in GraphiQL',
  restoreVm: 'names a snapshot the user made',
  cloneVm: 'not walked here yet: its example is checked against the schema only',
  publishVm: 'not walked here yet: its example is checked against the schema only',
  reimageVm: 'not walked here yet: its example is checked against the schema only',
  reimageLab: 'needs a lab with students ready',
  createLabTemplateVm: 'needs a lab template image',
  publishLabTemplate: 'needs a template VM',
  addLabUsageHours: 'names a student of a lab with a usage quota',
  updateLtiRegistration: 'names the id the create answered',
  updateWebhook: 'names the id the create answered',
  rotateWebhookSecret: 'names the id the create answered',
};

let t: TestApp;
let admin: string;
let rest: ReturnType<typeof restClient>;

beforeAll(async () => {
  t = await startTestApp();
  rest = restClient(t);
  const token = await rest
    .api()
    .post('/dev/token')
    .send(requestExample('createDevToken') as object);
  expect(token.status, JSON.stringify(token.body)).toBe(200);
  admin = `Bearer ${String(token.body.accessToken)}`;
});
afterAll(async () => {
  await t?.close();
});

describe('"Try it out" with the contract\'s request examples on the embedded default', () => {
  it.each(STEPS.map((s, i) => [s[0], i] as const))('%s', async (operationId, i) => {
    const [, method, path, status] = STEPS[i] ?? ['', 'post', '', 0];
    if (operationId === 'grantVmAccess') {
      // Access is granted on a VM with Azure Arc; the VM example has none, so one is made here.
      const vm = await rest
        .api()
        .post('/v1/tenants/cs101/vms')
        .set('authorization', admin)
        .send({
          ...(requestExample('createVm') as object),
          name: 'web-arc',
          arc: true,
          sshPublicKeys: [],
        });
      expect(vm.status, JSON.stringify(vm.body)).toBe(202);
      expect((await rest.settle(admin, vm.body.id as string, 30_000))['status']).toBe('succeeded');
    }
    const example = requestExample(operationId);
    expect(example, `${operationId} has a request example`).toBeDefined();
    const api = rest.api();
    const res = await api[method](path)
      .set('authorization', admin)
      .send(example as object);
    expect(res.status, `${operationId}: ${JSON.stringify(res.body)}`).toBe(status);
    if (status === 202 && method !== 'put') {
      const op = await rest.settle(admin, res.body.id as string, 60_000);
      expect(op['status'], `${operationId}: ${JSON.stringify(op)}`).toBe('succeeded');
    }
  });

  it('every JSON request body of the contract has an example, and each is tried here or says why not', () => {
    const tried = new Set(STEPS.map((s) => s[0]));
    for (const { operationId } of contract.operations) {
      const body = contract.deref<{ content?: Record<string, unknown> }>(contract.operation(operationId)['requestBody']);
      if (body?.content?.['application/json'] === undefined) continue;
      if (operationId !== 'postGraphQL') expect(requestExample(operationId), `${operationId} has a request example`).toBeDefined();
      expect(tried.has(operationId) || NOT_SENT[operationId] !== undefined, `${operationId} is tried or says why not`).toBe(true);
    }
  });
});
