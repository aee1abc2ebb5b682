import type { FastifyReply, FastifyRequest } from 'fastify';
import type { components } from '../generated/openapi.js';
import { sendProblem } from '../plugins/errors.js';
import { makeProblem } from '../problem.js';

/** A dependency readiness depends on. `check` resolves when healthy and rejects with the reason. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface DevTokenIssuer {
  issue(claims: components['schemas']['DevTokenRequest']): Promise<{ accessToken: string; expiresIn: number }>;
}

const CHECK_TIMEOUT_MS = 2000;

async function runCheck(c: ReadinessCheck): Promise<{ ok: boolean; detail?: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      c.check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message.slice(0, 600) : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

export function systemHandlers(deps: {
  readiness: readonly ReadinessCheck[];
  devTokens: DevTokenIssuer | undefined;
  metrics: { contentType: string; metrics(): Promise<string> };
  spec: object;
}) {
  return {
    async getMetrics(_req: FastifyRequest, reply: FastifyReply) {
      return reply.type(deps.metrics.contentType).send(await deps.metrics.metrics());
    },
    async getOpenApi() {
      return deps.spec;
    },
    async getHealth() {
      return { status: 'ok' as const };
    },
    async getReadiness(_req: FastifyRequest, reply: FastifyReply) {
      const results = await Promise.all(deps.readiness.map(async (c) => [c.name, await runCheck(c)] as const));
      const checks = Object.fromEntries(results);
      const failed = results.filter(([, r]) => !r.ok).map(([n, r]) => `${n} (${r.detail ?? 'failing'})`);
      if (failed.length === 0) return { status: 'ready' as const, checks };
      return sendProblem(reply, makeProblem('NOT_READY', `Not ready: ${failed.join('; ')}.`, { details: { checks } }), {
        'retry-after': '5',
      });
    },
    async createDevToken(req: FastifyRequest<{ Body: components['schemas']['DevTokenRequest'] }>, reply: FastifyReply) {
      if (deps.devTokens === undefined) return reply.callNotFound();
      const { accessToken, expiresIn } = await deps.devTokens.issue(req.body);
      return { accessToken, tokenType: 'Bearer' as const, expiresIn };
    },
  };
}
