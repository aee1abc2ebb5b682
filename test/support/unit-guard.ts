// Setup file of the `unit` project: a unit test touches no network, no server and no child
// process, so the slice stays fast and runs without Redis. A test that does fails at once with
// the reason, and belongs in another project (see vitest.config.ts).
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { syncBuiltinESMExports } from 'node:module';

function refuse(what: string): never {
  throw new Error(`a unit test may not ${what}: name the file *.test.ts (component) or *.redis.test.ts (see vitest.config.ts)`);
}

net.Socket.prototype.connect = function connect(): never {
  refuse('open a network connection');
};
net.Server.prototype.listen = function listen(): never {
  refuse('listen on a port');
};
dgram.Socket.prototype.bind = function bind(): never {
  refuse('bind a UDP socket');
};
for (const name of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync'] as const) {
  (childProcess as unknown as Record<string, unknown>)[name] = () => refuse('start a child process');
}
// Named imports (`import { spawn } from 'node:child_process'`) see the patched functions too.
syncBuiltinESMExports();
