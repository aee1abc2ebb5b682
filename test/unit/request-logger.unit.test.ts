import type { FastifyBaseLogger } from 'fastify';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { requestChildLogger } from '../../src/api/request-logger.js';
import { loggerOptions } from '../../src/main/logger.js';

/** The app's logger (its redaction included), writing into an array, without the time field. */
function capture() {
  const lines: string[] = [];
  const logger = pino({ ...loggerOptions({ logLevel: 'info' }), timestamp: false }, { write: (s: string) => lines.push(s) });
  return { logger: logger as unknown as FastifyBaseLogger, lines };
}

function logThrough(child: FastifyBaseLogger): void {
  child.info({ token: 'top', nested: { token: 'hidden', password: 'pw' }, req: { method: 'GET', url: '/x' } }, 'first');
  child.child({ more: 1 }).warn('second');
}

describe('the per-request child logger', () => {
  it('writes the same lines as pino child(bindings, {}), redaction and nested children included', () => {
    const ours = capture();
    const pinos = capture();
    for (const id of ['0f0e6a3c-8d2f-4c55-9d2a-2d1f3b7c9e11', 'client.id-1_2', 'quote"back\\slash']) {
      logThrough(requestChildLogger(ours.logger, { reqId: id }, {}));
      logThrough(pinos.logger.child({ reqId: id }, {}));
    }
    expect(ours.lines).toEqual(pinos.lines);
    expect(ours.lines[0]).toContain('"reqId":"0f0e6a3c-8d2f-4c55-9d2a-2d1f3b7c9e11"');
    expect(ours.lines[0]).toContain('"password":"[redacted]"');
    expect(ours.lines.join('')).not.toContain('hidden');
    expect((requestChildLogger(ours.logger, { reqId: 'a' }, {}) as unknown as Logger).bindings()).toEqual({ service: 'labplane', reqId: 'a' });
  });

  it("leaves options (a route's log level) and bindings that are not strings to pino's child", () => {
    const ours = capture();
    const quiet = requestChildLogger(ours.logger, { reqId: 'a' }, { level: 'warn' });
    quiet.info('dropped');
    quiet.warn('kept');
    requestChildLogger(ours.logger, { reqId: 'b', extra: { token: 'hidden' } }, {}).info('object binding');
    expect(ours.lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['kept', 'object binding']);
    expect(ours.lines[1]).toContain('"extra":{"token":"[redacted]"}');
  });
});
