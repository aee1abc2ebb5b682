import { describe, expect, it } from 'vitest';
import { attribute } from '../../bench/support/cpu-attribution.js';

const frame = (functionName: string, url: string) => ({ functionName, url });

// (root) → fastify hook runner → auth hook → { Reply.header (fastify), native write, the token cache }; (idle); GC.
const profile = {
  nodes: [
    { id: 1, callFrame: frame('(root)', ''), children: [2, 7, 8] },
    { id: 2, callFrame: frame('hookRunner', 'file:///app/node_modules/fastify/lib/hooks.js'), children: [3] },
    { id: 3, callFrame: frame('', 'file:///app/src/api/plugins/auth.ts'), children: [4, 5, 6] },
    { id: 4, callFrame: frame('Reply.header', 'file:///app/node_modules/fastify/lib/reply.js') },
    { id: 5, callFrame: frame('writeUtf8String', '') },
    { id: 6, callFrame: frame('verify', 'file:///app/src/domain/auth/authenticator.ts') },
    { id: 7, callFrame: frame('(idle)', '') },
    { id: 8, callFrame: frame('(garbage collector)', '') },
  ],
  samples: [2, 3, 4, 5, 5, 6, 7, 7, 7, 8],
  timeDeltas: [10, 20, 30, 40, 40, 50, 1000, 1000, 1000, 60],
};

describe('charging profile samples to pieces of the request pipeline', () => {
  it('charges each sample to the piece of the frame nearest the leaf, leaves idle out and divides by the requests', () => {
    const a = attribute(profile, 2);
    expect(Object.fromEntries(a.pieces.map((p) => [p.piece, p.us]))).toEqual({
      'socket write (the syscall)': 40,
      'auth: token cache, principal': 35,
      'garbage collection': 30,
      'fastify reply (headers, payload)': 15,
      'fastify routing and hooks': 5,
    });
    expect(a.totalUs).toBe(125);
    expect(a.pieces.map((p) => p.piece)[0]).toBe('socket write (the syscall)');
  });

  it('a frame of no piece with no ancestor of one is "other"', () => {
    const a = attribute({ nodes: [{ id: 1, callFrame: frame('main', 'file:///app/x.js') }], samples: [1], timeDeltas: [7] }, 1);
    expect(a.pieces).toEqual([{ piece: 'other', us: 7 }]);
  });
});
