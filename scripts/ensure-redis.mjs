// Makes sure a Redis answers before the tests run: uses REDIS_URL or 127.0.0.1:6379, and starts
// a local redis-server (no persistence) when none answers and the binary is installed.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import net from 'node:net';

const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const host = url.hostname || '127.0.0.1';
const port = Number(url.port || 6379);

function ping() {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

if (await ping()) process.exit(0);
if (host !== '127.0.0.1' && host !== 'localhost') {
  console.error(`ensure-redis: Redis at ${host}:${port} does not answer`);
  process.exit(1);
}
for (const dir of ['/var/lib/redis', '/var/log/redis']) {
  try {
    mkdirSync(dir, { recursive: true });
  } catch {
    // not root: redis-server below writes its log to the working directory instead
  }
}
const args = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', String(port), '--save', '', '--appendonly', 'no'];
const asRoot = process.getuid?.() === 0;
const started = spawnSync('redis-server', asRoot ? [...args, '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'] : args, {
  stdio: 'inherit',
});
if (started.error) {
  console.error('ensure-redis: no Redis answers and redis-server is not installed (apt-get install -y redis-server)');
  process.exit(1);
}
for (let i = 0; i < 50; i++) {
  if (await ping()) process.exit(0);
  await new Promise((r) => setTimeout(r, 100));
}
console.error(`ensure-redis: started redis-server but ${host}:${port} does not answer`);
process.exit(1);
