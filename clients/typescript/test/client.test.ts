import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { virtualMachineObject } from '../../../src/adapters/kubernetes/vm-objects.js';
import { vmSpec } from '../../../test/contracts/vm-repository.contract.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../../../test/support/test-app.js';
import { LAB_TEMPLATE } from '../../../test/labs/support.js';
import { emulatorOf, VM } from '../../../test/vms/support.js';
import {
  createLabplaneClient,
  items,
  LabplaneProblemError,
  pages,
  unwrap,
  type components,
  type LabplaneClient,
  type Operation,
} from '../src/index.js';

const TEMPLATE: components['schemas']['LabTemplateInput'] = { ...LAB_TEMPLATE, storageClass: 'kv-standard' };

// The client against the embedded default (simulated Kubernetes and Azure), listening on loopback.
let t: TestApp;
let base: string;
let admin: string;
let lp: LabplaneClient;

beforeAll(async () => {
  t = await startTestApp({ LAB_TICK_MS: '200' });
  base = t.url;
  admin = await t.bearer({ sub: 'client-admin', roles: ['platform-admin'] });
  lp = createLabplaneClient({ baseUrl: base, token: admin });
});
afterAll(async () => {
  await lp?.close();
  await t?.close();
});

async function createTenant(client: LabplaneClient = lp): Promise<string> {
  const id = uniqueTenantId('cl');
  await client.api.POST('/v1/tenants', { body: { id, displayName: id, profile: 'faculty', owners: [{ principalId: 'olga' }] } });
  return id;
}

const students = (n: number) => Array.from({ length: n }, (_, i) => ({ email: `s${i + 1}@uni.example`, displayName: `Student ${i + 1}` }));

// Labs provision and 600 VMs reach the watch cache in seconds, tens of them on a loaded machine.
describe('the typed client', { timeout: 120_000 }, () => {
  it('waitForOperation reports progress and waits as long as Retry-After says', async () => {
    const tenant = await createTenant();
    const accepted = await lp.api.POST('/v1/tenants/{tenant}/labs', {
      params: { path: { tenant } },
      body: { name: 'os-lab', template: TEMPLATE, students: students(4) },
    });
    expect(accepted.response.status).toBe(202);
    const advised = Number(accepted.response.headers.get('retry-after'));
    expect(advised).toBeGreaterThanOrEqual(1);
    const waits: number[] = [];
    const seen: Operation[] = [];
    // Time is injected: each wait is recorded and lasts 20 ms, whatever it was asked for.
    const done = await lp.waitForOperation(accepted.data!.id, {
      onProgress: (op) => seen.push(op),
      sleep: async (ms) => {
        waits.push(ms);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(done.result).toMatchObject({ summary: { total: 4, ready: 4 } });
    expect(waits.length).toBeGreaterThan(0);
    expect(new Set(waits)).toEqual(new Set([advised * 1000]));
    expect(seen.at(-1)?.status).toBe('succeeded');
    const percents = seen.map((op) => op.progress.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(seen.length).toBeGreaterThan(1);
  });

  it('waitForOperation stops on abort and cancels the operation on the API', async () => {
    const tenant = await createTenant();
    const { data: op } = await lp.api.POST('/v1/tenants/{tenant}/labs', {
      params: { path: { tenant } },
      body: { name: 'to-cancel', template: TEMPLATE, students: students(3) },
    });
    const stop = new AbortController();
    const waiting = lp.waitForOperation(op!.id, { signal: stop.signal, onProgress: () => stop.abort(new Error('enough')) });
    await expect(waiting).rejects.toThrow('enough');
    const after = await unwrap(lp.api.GET('/v1/operations/{operationId}', { params: { path: { operationId: op!.id } } }));
    expect(after.cancelRequested || after.status === 'canceled').toBe(true);
  });

  it('pages through 600 VMs with cursors', async () => {
    const tenant = await createTenant();
    // Written straight into the simulated cluster, as the adapter writes them: the test is of the
    // reads, and 600 creates through the API would mostly measure the write budget.
    const em = emulatorOf(t);
    for (let i = 0; i < 600; i++) {
      const name = `vm-${String(i).padStart(4, '0')}`;
      em.store.create(
        VM,
        virtualMachineObject(
          vmSpec(
            tenant,
            { namespace: 'labplane-images', pvcName: 'ubuntu-24-04' },
            { name, ownerId: `student-${i % 40}`, image: { scope: 'platform', name: 'ubuntu-24-04' } },
          ),
        ) as never,
      );
    }
    const list = (limit: number) => (p: { cursor: string } | Record<string, never>) =>
      lp.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant }, query: { ...p, limit } } });
    const count = async () => {
      let n = 0;
      for await (const _ of items(list(500))) n += 1;
      return n;
    };
    // The watch-backed cache sees the objects shortly after they are written.
    await expect.poll(count, { timeout: 90_000, interval: 200 }).toBe(600);
    const names: string[] = [];
    let pageCount = 0;
    for await (const page of pages(list(100))) {
      pageCount += 1;
      names.push(...page.items.map((v) => v.name));
    }
    expect(pageCount).toBe(6);
    expect(names).toHaveLength(600);
    expect(new Set(names).size).toBe(600);
    expect(names).toEqual([...names].sort());
  });

  it('throws error answers as LabplaneProblemError with code, status, detail and errors', async () => {
    const missing = await lp.api.GET('/v1/tenants/{tenant}', { params: { path: { tenant: 'no-such-tenant' } } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LabplaneProblemError);
    expect(missing).toMatchObject({ status: 404, code: 'TENANT_NOT_FOUND' });
    const invalid = await lp.api
      .POST('/v1/tenants', { body: { id: 'Not A Valid Id', displayName: 'x', profile: 'faculty' } })
      .catch((e: unknown) => e as LabplaneProblemError);
    expect(invalid).toBeInstanceOf(LabplaneProblemError);
    const problem = invalid as LabplaneProblemError;
    expect(problem.status).toBe(400);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect(problem.detail).toEqual(expect.any(String));
    expect(problem.errors.map((e) => e.field)).toContain('/id');
    const anonymous = createLabplaneClient({ baseUrl: base });
    await expect(anonymous.api.GET('/v1/tenants')).rejects.toMatchObject({ status: 401, code: expect.any(String) });
  });

  it('sends an Idempotency-Key on POSTs that take one, and a retry after a lost answer is replayed, not repeated', async () => {
    const sent: Request[] = [];
    let lose = true;
    const flaky = createLabplaneClient({
      baseUrl: base,
      token: admin,
      sleep: async () => {},
      fetch: async (request) => {
        sent.push(request.clone());
        const response = await fetch(request);
        if (lose) {
          // The server did the work; the answer is lost on the way back.
          lose = false;
          throw new TypeError('fetch failed');
        }
        return response;
      },
    });
    const id = uniqueTenantId('idem');
    const created = await flaky.api.POST('/v1/tenants', { body: { id, displayName: id, profile: 'student' } });
    expect(created.response.status).toBe(201);
    expect(created.response.headers.get('idempotent-replayed')).toBe('true');
    expect(sent).toHaveLength(2);
    const keys = sent.map((r) => r.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    // A POST whose contract takes no such header gets none.
    sent.length = 0;
    await flaky.api.POST('/dev/token', { body: { sub: 'someone' } });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.headers.has('idempotency-key')).toBe(false);
  });

  it('subscribes to an operation over GraphQL (graphql-ws) until it is final', async () => {
    const tenant = await createTenant();
    const { data: op } = await lp.api.POST('/v1/tenants/{tenant}/labs', {
      params: { path: { tenant } },
      // Arc onboarding keeps it running for a second or more: long enough to subscribe before it ends.
      body: { name: 'live', template: { ...TEMPLATE, arc: true }, students: students(3) },
    });
    const frames: { status: string; percent: number }[] = [];
    for await (const update of lp.subscriptions.operationUpdates(op!.id)) frames.push({ status: update.status, percent: update.progress.percent });
    expect(frames.at(-1)?.status).toBe('succeeded');
    expect(frames.at(-1)?.percent).toBe(100);
  });

  it('a GraphQL subscription refused by the API ends with its code', async () => {
    const anonymous = createLabplaneClient({ baseUrl: base, token: 'Bearer not-a-token' });
    const iterate = async () => {
      for await (const _ of anonymous.subscriptions.operationUpdates('00000000-0000-4000-8000-000000000000')) break;
    };
    await expect(iterate()).rejects.toBeTruthy();
    await anonymous.close();
  });
});
