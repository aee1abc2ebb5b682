/**
 * Where a server thread's CPU goes, by piece of the request pipeline: V8's sampling profiler (the
 * inspector, in this process) runs while a load is served, and each sample is charged to the piece
 * of the frame nearest the leaf that belongs to one (a header set by the security-headers hook is
 * the headers' cost, not the handler's that ran before it). Divided by the requests answered, a
 * piece's share is its CPU per request. Samples are statistical (a 100 µs interval) and the
 * profiler itself slows the thread by a few percent: the shares, not the absolute figures, are
 * what to read, and `bench/pipeline-cost.ts` measures the absolute CPU per request without it.
 */
import { Session } from 'node:inspector/promises';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Pieces in the order they are tried on each frame; the first that matches names the frame's piece. */
const PIECES: readonly (readonly [string, (f: CallFrame) => boolean])[] = [
  // A native write with no script URL is the socket write: the syscall, with the loopback peer's receive path in it.
  ['socket write (the syscall)', (f) => f.url === '' && /^(writeUtf8String|writeLatin1String|writeBuffer|writev)$/.test(f.functionName)],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
  ['auth: token cache, principal', (f) => /src\/api\/plugins\/auth\.ts|src\/domain\/auth\//.test(f.url)],
  ['rate limit', (f) => /@fastify\/rate-limit|src\/api\/plugins\/rate-limit/.test(f.url)],
  ['metrics', (f) => /src\/api\/plugins\/metrics\.ts|\/prom-client\//.test(f.url)],
  ['request logger', (f) => /src\/api\/request-logger\.ts|\/pino\/|fastify\/lib\/logger-factory\.js/.test(f.url)],
  [
    'request id, security headers',
    (f) => /src\/api\/plugins\/security-headers\.ts|src\/api\/app\.ts|fastify\/lib\/req-id-gen-factory\.js/.test(f.url),
  ],
  ['load shedding', (f) => /under-pressure/.test(f.url)],
  ['conditional GET (ETag)', (f) => /src\/api\/plugins\/conditional-get\.ts/.test(f.url)],
  ['GraphQL (mercurius, graphql-js, graphql-jit, our plugin)', (f) => /\/mercurius\/|\/graphql\/|\/graphql-jit\/|src\/api\/graphql\//.test(f.url)],
  ['validation', (f) => /src\/api\/plugins\/validation\.ts|fastify\/lib\/validation\.js/.test(f.url) || /^validate\d*$/.test(f.functionName)],
  ['serialization', (f) => /fast-json-stringify|src\/api\/plugins\/compiled-schemas\.ts/.test(f.url)],
  ['handler: use case, cache, response body', (f) => /src\/(api\/rest|domain|adapters)\//.test(f.url)],
  ['body parsing', (f) => /fastify\/lib\/content-type-parser\.js/.test(f.url)],
  ['fastify reply (headers, payload)', (f) => /fastify\/lib\/reply\.js/.test(f.url)],
  ['node http (parser, response head)', (f) => /^node:(_http_|net$|internal\/(streams|stream_base_commons|http))/.test(f.url)],
  ['fastify routing and hooks', (f) => /\/fastify\/lib\/|\/find-my-way\/|\/avvio\//.test(f.url)],
  [
    'promises, timers, events',
    (f) => /^node:(internal\/process|internal\/timers|events$)/.test(f.url) || /^(\(program\)|runMicrotasks|getLibuvNow)$/.test(f.functionName),
  ],
];
const IDLE = '(idle)';

/** CPU µs per request by piece (pieces that took none left out), most first, and the total. */
export interface Attribution {
  readonly totalUs: number;
  readonly pieces: readonly { readonly piece: string; readonly us: number }[];
}

/** Charges a profile's samples to pieces; `requests` answered while it ran. */
export function attribute(profile: Profile, requests: number): Attribution {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const pieceOf = new Map<number, string | undefined>();
  const resolve = (id: number): string | undefined => {
    if (pieceOf.has(id)) return pieceOf.get(id);
    const node = byId.get(id);
    const own = node === undefined ? undefined : PIECES.find(([, matches]) => matches(node.callFrame))?.[0];
    const up = parent.get(id);
    const piece = own ?? (up === undefined ? undefined : resolve(up));
    pieceOf.set(id, piece);
    return piece;
  };
  const us = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (byId.get(id)?.callFrame.functionName === IDLE || byId.get(id)?.callFrame.url.startsWith('node:inspector')) return;
    const dt = profile.timeDeltas[i] ?? 0;
    const piece = resolve(id) ?? 'other';
    us.set(piece, (us.get(piece) ?? 0) + dt);
    total += dt;
  });
  const per = Math.max(1, requests);
  return {
    totalUs: total / per,
    pieces: [...us].map(([piece, t]) => ({ piece, us: t / per })).sort((a, b) => b.us - a.us),
  };
}

/** Runs `load` under the sampling profiler of this thread; `load` says how many requests it answered. */
export async function profiled(load: () => Promise<number>): Promise<Attribution> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    const requests = await load();
    const { profile } = await session.post('Profiler.stop');
    return attribute(profile as unknown as Profile, requests);
  } finally {
    session.disconnect();
  }
}
