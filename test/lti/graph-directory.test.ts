import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGraphDirectory, GRAPH_SCOPE, odataString, userLookupUrl } from '../../src/adapters/graph/graph-directory.js';
import type { DomainError } from '../../src/domain/shared/errors.js';

/** A local server speaking Microsoft Graph's JSON batching wire format for `/users?$filter=`. */
interface GraphUser {
  id: string;
  displayName: string;
  mail: string | null;
  userPrincipalName: string;
}
const USERS: GraphUser[] = [
  { id: '6F1D3B2A-0000-4000-8000-000000000001', displayName: 'Ada Lovelace', mail: 'ada@uni.example', userPrincipalName: 'ada@uni.example' },
  {
    id: '6f1d3b2a-0000-4000-8000-000000000002',
    displayName: "Conan O'Brien",
    mail: "conan.o'brien@uni.example",
    userPrincipalName: 'cobrien@uni.example',
  },
  { id: '6f1d3b2a-0000-4000-8000-000000000003', displayName: 'Upn Only', mail: null, userPrincipalName: 'upn.only@uni.example' },
  { id: '6f1d3b2a-0000-4000-8000-000000000004', displayName: 'Twin A', mail: 'twin@uni.example', userPrincipalName: 'twin.a@uni.example' },
  { id: '6f1d3b2a-0000-4000-8000-000000000005', displayName: 'Twin B', mail: null, userPrincipalName: 'twin@uni.example' },
  ...Array.from({ length: 45 }, (_, i) => ({
    id: `6f1d3b2a-0000-4000-8000-1000000000${String(i).padStart(2, '0')}`,
    displayName: `Student ${i}`,
    mail: `student${i}@uni.example`,
    userPrincipalName: `student${i}@uni.example`,
  })),
];

interface Control {
  batchSizes: number[];
  filters: string[];
  /** Answer the whole batch 429 this many times. */
  throttleBatch: number;
  batchRetryAfter: string;
  /** Addresses whose request answers 429 (once each). */
  throttleItems: Set<string>;
  itemRetryAfter: string;
  status?: number;
  authorizations: string[];
}
const ctl: Control = {
  batchSizes: [],
  filters: [],
  throttleBatch: 0,
  batchRetryAfter: '3',
  throttleItems: new Set(),
  itemRetryAfter: '2',
  authorizations: [],
};

function answer(url: string): { status: number; headers?: Record<string, string>; body: unknown } {
  const u = new URL(url, 'https://graph.invalid/v1.0');
  const filter = u.searchParams.get('$filter') ?? '';
  ctl.filters.push(filter);
  if (u.pathname !== '/users' || u.searchParams.get('$select') !== 'id,displayName,mail,userPrincipalName') {
    return { status: 400, body: { error: { code: 'BadRequest', message: 'unexpected request' } } };
  }
  const m = /^mail eq '((?:[^']|'')*)' or userPrincipalName eq '((?:[^']|'')*)'$/.exec(filter);
  if (m === null) return { status: 400, body: { error: { code: 'BadRequest', message: 'Invalid filter clause' } } };
  const mail = (m[1] ?? '').replace(/''/g, "'");
  const upn = (m[2] ?? '').replace(/''/g, "'");
  if (ctl.throttleItems.delete(mail)) {
    return { status: 429, headers: { 'Retry-After': ctl.itemRetryAfter }, body: { error: { code: 'TooManyRequests' } } };
  }
  // Graph compares these properties case-insensitively.
  const hits = USERS.filter((x) => x.mail?.toLowerCase() === mail.toLowerCase() || x.userPrincipalName.toLowerCase() === upn.toLowerCase());
  return { status: 200, headers: { 'Content-Type': 'application/json' }, body: { '@odata.context': 'x', value: hits } };
}

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      ctl.authorizations.push(req.headers.authorization ?? '');
      if (req.method !== 'POST' || req.url !== '/v1.0/$batch') return res.writeHead(404).end();
      if (ctl.status !== undefined) return res.writeHead(ctl.status, { 'content-type': 'application/json' }).end('{"error":{"code":"x"}}');
      if (ctl.throttleBatch > 0) {
        ctl.throttleBatch -= 1;
        return res
          .writeHead(429, { 'retry-after': ctl.batchRetryAfter, 'content-type': 'application/json' })
          .end('{"error":{"code":"TooManyRequests"}}');
      }
      const body = JSON.parse(raw) as { requests: { id: string; method: string; url: string }[] };
      if (body.requests.length > 20) return res.writeHead(400).end('{"error":{"code":"BadRequest","message":"too many"}}');
      ctl.batchSizes.push(body.requests.length);
      // Graph answers in any order.
      const responses = body.requests.map((r) => ({ id: r.id, ...answer(r.url) })).reverse();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ responses }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  Object.assign(ctl, { batchSizes: [], filters: [], throttleBatch: 0, throttleItems: new Set(), authorizations: [], status: undefined });
});

const scopes: string[] = [];
const credential: TokenCredential = {
  getToken: (scope) => {
    scopes.push(String(scope));
    return Promise.resolve({ token: 'graph-token', expiresOnTimestamp: Date.now() + 3600_000 });
  },
};
const waits: number[] = [];
const sleep = (ms: number) => {
  waits.push(ms);
  return Promise.resolve();
};
const directory = (extra: { maxAttempts?: number; maxRetryAfterSeconds?: number } = {}) =>
  createGraphDirectory({ credential, baseUrl: base, sleep, ...extra });

describe('OData quoting', () => {
  it('doubles single quotes and percent-encodes the filter', () => {
    expect(odataString("o'brien")).toBe("'o''brien'");
    expect(userLookupUrl("a'b+c@x.example")).toBe(
      `/users?$filter=${encodeURIComponent("mail eq 'a''b+c@x.example' or userPrincipalName eq 'a''b+c@x.example'")}&$select=id,displayName,mail,userPrincipalName`,
    );
  });
});

describe('Graph directory against a Graph-speaking server', () => {
  it('finds users by mail or UPN, with a Graph token, and says not-found and ambiguous', async () => {
    waits.length = 0;
    const r = await directory().lookup(['ADA@uni.example', 'upn.only@uni.example', 'twin@uni.example', 'nobody@uni.example', 'ada@uni.example', '']);
    expect([...r.keys()].sort()).toEqual(['ada@uni.example', 'nobody@uni.example', 'twin@uni.example', 'upn.only@uni.example']);
    expect(r.get('ada@uni.example')).toEqual({
      id: '6f1d3b2a-0000-4000-8000-000000000001',
      displayName: 'Ada Lovelace',
      email: 'ada@uni.example',
      userPrincipalName: 'ada@uni.example',
    });
    expect(r.get('upn.only@uni.example')).toMatchObject({ id: '6f1d3b2a-0000-4000-8000-000000000003', userPrincipalName: 'upn.only@uni.example' });
    expect(r.get('twin@uni.example')).toBe('ambiguous');
    expect(r.get('nobody@uni.example')).toBe('not-found');
    expect(ctl.batchSizes).toEqual([4]);
    expect(ctl.authorizations).toEqual(['Bearer graph-token']);
    expect(scopes.at(-1)).toBe(GRAPH_SCOPE);
    expect(waits).toEqual([]);
  });

  it('quotes addresses with apostrophes so the filter stays one string literal', async () => {
    const r = await directory().lookup(["conan.o'brien@uni.example", "x' or mail eq 'ada@uni.example"]);
    expect(r.get("conan.o'brien@uni.example")).toMatchObject({ displayName: "Conan O'Brien" });
    expect(r.get("x' or mail eq 'ada@uni.example")).toBe('not-found');
  });

  it('sends at most 20 lookups per batch', async () => {
    const addresses = Array.from({ length: 45 }, (_, i) => `student${i}@uni.example`);
    const r = await directory().lookup(addresses);
    expect(ctl.batchSizes).toEqual([20, 20, 5]);
    expect([...r.values()].every((v) => typeof v === 'object')).toBe(true);
  });

  it('waits the Retry-After of a throttled batch, then retries it', async () => {
    waits.length = 0;
    ctl.throttleBatch = 1;
    ctl.batchRetryAfter = '3';
    const r = await directory().lookup(['ada@uni.example']);
    expect(r.get('ada@uni.example')).toMatchObject({ displayName: 'Ada Lovelace' });
    expect(waits).toEqual([3000]);
  });

  it('retries only the throttled requests of a batch, after their Retry-After', async () => {
    waits.length = 0;
    ctl.throttleItems = new Set(['student3@uni.example']);
    ctl.itemRetryAfter = '2';
    const r = await directory().lookup(['student1@uni.example', 'student2@uni.example', 'student3@uni.example']);
    expect(ctl.batchSizes).toEqual([3, 1]);
    expect(waits).toEqual([2000]);
    expect(r.get('student3@uni.example')).toMatchObject({ displayName: 'Student 3' });
  });

  it('gives up with a retryable error when Retry-After is longer than it may wait, or throttling goes on', async () => {
    ctl.throttleBatch = 1;
    ctl.batchRetryAfter = '120';
    const long = (await directory()
      .lookup(['ada@uni.example'])
      .catch((e: unknown) => e)) as DomainError & { retryAfterSeconds?: number };
    expect(long.code).toBe('DIRECTORY_UNAVAILABLE');
    expect(long.retryAfterSeconds).toBe(120);

    ctl.throttleBatch = 5;
    ctl.batchRetryAfter = '1';
    const tired = (await directory({ maxAttempts: 3 })
      .lookup(['ada@uni.example'])
      .catch((e: unknown) => e)) as DomainError;
    expect(tired.code).toBe('DIRECTORY_UNAVAILABLE');
  });

  it('says the directory refused when Graph answers 403, and unavailable on 500', async () => {
    ctl.status = 403;
    expect(
      (
        (await directory()
          .lookup(['ada@uni.example'])
          .catch((e: unknown) => e)) as DomainError
      ).code,
    ).toBe('DIRECTORY_REJECTED');
    ctl.status = 500;
    expect(
      (
        (await directory()
          .lookup(['ada@uni.example'])
          .catch((e: unknown) => e)) as DomainError
      ).code,
    ).toBe('DIRECTORY_UNAVAILABLE');
  });

  it('reports an unreachable Graph as retryable', async () => {
    const dead = createGraphDirectory({ credential, baseUrl: 'http://127.0.0.1:1', sleep });
    expect(((await dead.lookup(['ada@uni.example']).catch((e: unknown) => e)) as DomainError).code).toBe('DIRECTORY_UNAVAILABLE');
  });
});
