// Stress benchmark (not a test): a signed-in GraphQL reader's latency alone, then while attackers
// send megabyte documents (`{me{id id …}}` with a random comment, and 200,000 fragment spreads):
// anonymous, with a forged token, and signed in. Loopback only, bounded by --seconds per phase.
// Usage: npm run bench:graphql-flood [-- --seconds 10 --attackers 2]
import autocannon from 'autocannon';
import { buildAppFromDeps } from '../src/main/app-from-deps.js';
import { loadConfig } from '../src/main/config.js';
import { buildDeps } from '../src/main/deps.js';
import { createLogger } from '../src/main/logger.js';
import { printBenchResult } from './support/result.js';

const args = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const seconds = arg('seconds', 10);
const attackers = arg('attackers', 2);

// No rate limit and no load shedding: the budget alone must keep the reader's latency.
const config = loadConfig({ LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
const deps = await buildDeps(config, createLogger(config));
const app = await buildAppFromDeps(deps);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const url = `${base}/graphql`;
const issue = async (sub: string) => `Bearer ${(await deps.devTokens!.issue({ sub, roles: ['platform-admin'] })).accessToken}`;
const reader = { authorization: await issue('reader'), 'content-type': 'application/json' };
const signedInAttacker = { authorization: await issue('attacker'), 'content-type': 'application/json' };

const readerBody = JSON.stringify({ query: '{ tenants(limit: 10) { items { id displayName } } me { id } }' });
const fields = JSON.stringify({ query: `{me{${'id '.repeat(330_000)}}} #${Math.random().toString(36)}` });
const spreads = JSON.stringify({ query: `query{me{${'...F '.repeat(200_000)}}} fragment F on Me { id }` });

interface Result {
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly statuses: string;
}

async function load(headers: Record<string, string>, body: string, connections: number): Promise<Result> {
  // A worker thread generates each load, so the server under test keeps its own event loop.
  const r = await autocannon({ url, method: 'POST', connections, duration: seconds, headers, body, workers: 1 });
  const statuses = Object.entries(r.statusCodeStats ?? {})
    .map(([code, s]) => `${code}×${(s as { count: number }).count}`)
    .join(' ');
  return {
    requests: r.requests.total,
    p50: r.latency.p50,
    p99: r.latency.p99,
    max: r.latency.max,
    statuses: `${statuses}${r.errors > 0 ? ` errors×${r.errors}` : ''}`,
  };
}

const row = (phase: string, read: Result, attack?: Result) =>
  `| ${phase} | ${read.p50} | ${read.p99} | ${read.max} | ${read.requests} | ${read.statuses} | ${attack === undefined ? '-' : `${attack.requests} (${attack.statuses})`} |`;

const lines = [
  '| phase | reader p50 ms | reader p99 ms | reader max ms | reader requests | reader statuses | attacker requests (statuses) |',
  '| --- | --- | --- | --- | --- | --- | --- |',
];
const alone = await load(reader, readerBody, 4);
lines.push(row('reader alone', alone));
let worstP99 = 0;
const phases: Array<[string, Record<string, string>, string]> = [
  ['anonymous, 1 MB of fields', { 'content-type': 'application/json' }, fields],
  ['forged token, 200,000 spreads', { authorization: 'Bearer forged', 'content-type': 'application/json' }, spreads],
  ['signed in, 1 MB of fields', signedInAttacker, fields],
];
for (const [phase, headers, body] of phases) {
  const [read, ...attacks] = await Promise.all([load(reader, readerBody, 4), ...Array.from({ length: attackers }, () => load(headers, body, 2))]);
  const total: Result = {
    requests: attacks.reduce((n, a) => n + a.requests, 0),
    p50: 0,
    p99: 0,
    max: 0,
    statuses: attacks.map((a) => a.statuses).join('; '),
  };
  lines.push(row(`${phase} (${attackers} attackers × 2 connections)`, read!, total));
  worstP99 = Math.max(worstP99, read!.p99);
}
console.log(lines.join('\n'));
console.log(`(${seconds} s a phase, ${process.version}, ${new Date().toISOString()})`);
printBenchResult('graphql-flood', [
  { figure: 'GraphQL reader p99 alone', value: alone.p99, unit: 'ms' },
  { figure: 'GraphQL reader p99 under megabyte-document floods (worst phase)', value: worstP99, unit: 'ms' },
]);

await app.close();
await deps.jobs.engine.stop({ graceMs: 0 });
await deps.close();
