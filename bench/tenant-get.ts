// Load benchmark (not a test): GET /v1/tenants/{tenant} on the embedded stack beside a bare
// fastify route returning a body of the same size, on the same machine, printing the ratio.
// Usage: npm run bench:tenants [-- --seconds 10 --connections 100]
import autocannon from 'autocannon';
import Fastify from 'fastify';
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
const connections = arg('connections', 100);

async function load(url: string, headers: Record<string, string>) {
  // A worker thread generates the load, so the server under test keeps its own event loop.
  const r = await autocannon({ url, connections, duration: seconds, headers, workers: 1 });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

const config = loadConfig({ LOG_LEVEL: 'warn', MAX_EVENT_LOOP_DELAY_MS: '0', PORT: '0', RATE_LIMIT_PER_MINUTE: '60000000' });
const deps = await buildDeps(config, createLogger(config));
const app = await buildAppFromDeps(deps);
const base = await app.listen({ host: '127.0.0.1', port: 0 });
const token = (await deps.devTokens!.issue({ sub: 'bench', roles: ['platform-admin'] })).accessToken;
const auth = { authorization: `Bearer ${token}` };
await fetch(`${base}/v1/tenants`, {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ id: 'bench', displayName: 'Bench tenant', profile: 'faculty', owners: [{ principalId: 'olga' }] }),
});
const body = await (await fetch(`${base}/v1/tenants/bench`, { headers: auth })).text();

const bare = Fastify({ logger: false });
bare.get('/bare', async (_req, reply) => reply.type('application/json').send(body));
const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });

const apiBefore = deps.emulator?.requestCount() ?? 0;
const ours = await load(`${base}/v1/tenants/bench`, auth);
const apiDuring = (deps.emulator?.requestCount() ?? 0) - apiBefore;
const baseline = await load(`${bareUrl}/bare`, {});

console.log(`GET /v1/tenants/{tenant}: ${ours.rps.toFixed(0)} req/s, p99 ${ours.p99} ms, non-2xx ${ours.non2xx}, errors ${ours.errors}`);
console.log(`bare fastify (${body.length} B body): ${baseline.rps.toFixed(0)} req/s, p99 ${baseline.p99} ms`);
console.log(`ratio: ${((ours.rps / baseline.rps) * 100).toFixed(1)}% of the bare route; Kubernetes API requests during the run: ${apiDuring}`);
console.log(`(${connections} connections, ${seconds} s each, load generated from a worker thread, ${process.version})`);
printBenchResult('tenant-get', [{ figure: 'GET tenant / bare fastify same body', value: ours.rps / baseline.rps, unit: 'ratio' }]);

await bare.close();
await app.close();
await deps.close();
