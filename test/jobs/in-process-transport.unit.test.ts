import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareOptionalCallPriority } from '../../src/domain/operations/call-priority.js';
import type { JobMessage, JobProcessor } from '../../src/domain/operations/job-queue.js';
import { createInProcessTransport } from '../../src/jobs/in-process-transport.js';
import { manualScheduler } from '../support/manual-scheduler.js';
import { recordingLogger } from './helpers.js';

const job = (step: string): JobMessage => ({ kind: 'k', operationId: 'op-1', step, generation: 1 });

/** A processor that records each delivery and answers with `answer` (a rejection is a failed delivery). */
function recorder(answer: (job: JobMessage) => Promise<void> = async () => undefined) {
  const runs: string[] = [];
  const lost: string[] = [];
  let settled: () => void = () => undefined;
  let next = new Promise<void>((r) => (settled = r));
  const processor: JobProcessor = {
    async process(j) {
      runs.push(j.step);
      try {
        await answer(j);
        return {};
      } finally {
        const done = settled;
        next = new Promise<void>((r) => (settled = r));
        queueMicrotask(done);
      }
    },
    async lost(j) {
      lost.push(j.step);
    },
  };
  return { processor, runs, lost, delivered: () => next };
}

describe('in-process transport on an injected scheduler', () => {
  it('a delayed job runs when its delay is over, not a millisecond before', async () => {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler });
    const r = recorder();
    await t.start(r.processor, { concurrency: 1 });
    await t.add(job('later'), { delayMs: 5_000 });
    scheduler.advance(4_999);
    await Promise.resolve();
    expect(r.runs).toEqual([]);
    expect((await t.counts())[0]).toMatchObject({ delayed: 1, waiting: 0 });
    const delivered = r.delivered();
    scheduler.advance(1);
    await delivered;
    expect(r.runs).toEqual(['later']);
    await t.close();
  });

  it('a delayed job woken early runs at once, and its delay timer is gone', async () => {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler, finishedRetentionMs: 60_000 });
    const r = recorder();
    await t.start(r.processor, { concurrency: 1 });
    await t.add(job('recheck'), { delayMs: 15_000 });
    const delivered = r.delivered();
    expect(await t.wake(job('recheck'))).toBe(true);
    await delivered;
    await settle();
    expect(r.runs).toEqual(['recheck']);
    scheduler.advance(15_000);
    await settle();
    expect(r.runs).toEqual(['recheck']);
    await t.close();
  });

  it('a rejected delivery is redelivered after 1 s, 2 s, 4 s …, then given up as lost', async () => {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler, redeliveryDelayMs: 1_000, deliveryAttempts: 3 });
    const r = recorder(async () => {
      throw new Error('upstream down');
    });
    await t.start(r.processor, { concurrency: 1 });
    let delivered = r.delivered();
    await t.add(job('flaky'), { delayMs: 0 });
    await delivered;
    await settle();
    expect(r.runs).toHaveLength(1);
    scheduler.advance(999);
    expect(r.runs).toHaveLength(1);
    delivered = r.delivered();
    scheduler.advance(1);
    await delivered;
    await settle();
    expect(r.runs).toHaveLength(2);
    scheduler.advance(1_999);
    expect(r.runs).toHaveLength(2);
    delivered = r.delivered();
    scheduler.advance(1);
    await delivered;
    await settle();
    expect(r.runs).toHaveLength(3);
    expect(r.lost).toEqual(['flaky']);
    expect(scheduler.pending).toBe(1); // only the finished id's retention is left
    await t.close();
    expect(scheduler.pending).toBe(0);
  });

  it('a finished job id is remembered for the retention time: adding it again before is a no-op, after it runs again', async () => {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler, finishedRetentionMs: 60_000 });
    const r = recorder();
    await t.start(r.processor, { concurrency: 1 });
    let delivered = r.delivered();
    await t.add(job('once'), { delayMs: 0 });
    await delivered;
    await settle();
    await t.add(job('once'), { delayMs: 0 });
    scheduler.advance(59_999);
    await settle();
    expect(r.runs).toEqual(['once']);
    scheduler.advance(1);
    delivered = r.delivered();
    await t.add(job('once'), { delayMs: 0 });
    await delivered;
    expect(r.runs).toEqual(['once', 'once']);
    await t.close();
  });
});

describe('in-process transport: the order waiting jobs are served in', () => {
  const of = (operationId: string): JobMessage => ({ kind: 'k', operationId, step: 'run', generation: 0 });

  /** A transport with one slot held by a job `release()` lets finish, so the jobs added next wait. */
  async function heldTransport(extra: { rankWaitLimitMs?: number } = {}) {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler, ...extra });
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const r = recorder((j) => (j.operationId === 'holder' ? held : Promise.resolve()));
    await t.start(r.processor, { concurrency: 1 });
    await t.add(of('holder'), { delayMs: 0 });
    await settle();
    expect(r.runs).toHaveLength(1);
    return { t, r, scheduler, release };
  }

  it('by rank: unranked jobs first, then element by element (an ancestor before its descendants), equal ranks by arrival', async () => {
    const { t, r, release } = await heldTransport();
    const ran: string[] = [];
    const processed = r.processor.process.bind(r.processor);
    r.processor.process = (j, signal) => (ran.push(j.operationId), processed(j, signal));
    await t.add(of('late-lab'), { delayMs: 0, rank: [5_000] });
    await t.add(of('student-2'), { delayMs: 0, rank: [1_000, 1_002] });
    await t.add(of('student-1-identity'), { delayMs: 0, rank: [1_000, 1_001, 1_500] });
    await t.add(of('lab'), { delayMs: 0, rank: [1_000] });
    await t.add(of('webhook'), { delayMs: 0 });
    await t.add(of('student-1'), { delayMs: 0, rank: [1_000, 1_001] });
    await t.add(of('student-2-again'), { delayMs: 0, rank: [1_000, 1_002] });
    release();
    for (let i = 0; i < 10; i++) await settle();
    expect(ran).toEqual(['webhook', 'lab', 'student-1', 'student-1-identity', 'student-2', 'student-2-again', 'late-lab']);
    expect((await t.counts())[0]).toMatchObject({ waiting: 0, active: 0 });
    await t.close();
  });

  it('any set of ranks, added in any order, is served in rank order, then arrival order', async () => {
    const rank = fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(rank, { nil: undefined }), { maxLength: 60 }), async (ranks) => {
        const { t, r, release } = await heldTransport();
        const ran: number[] = [];
        const processed = r.processor.process.bind(r.processor);
        r.processor.process = (j, signal) => (j.operationId === 'holder' ? undefined : ran.push(Number(j.operationId)), processed(j, signal));
        for (const [i, k] of ranks.entries()) await t.add(of(String(i)), { delayMs: 0, ...(k === undefined ? {} : { rank: k }) });
        release();
        for (let i = 0; i < 5 + ranks.length; i++) await settle();
        const expected = ranks
          .map((k, i) => ({ k, i }))
          .sort((a, b) => compareOptionalCallPriority(a.k, b.k) || a.i - b.i)
          .map(({ i }) => i);
        expect(ran).toEqual(expected);
        await t.close();
      }),
      { numRuns: 40 },
    );
  });

  it('a job that has waited past the limit goes first whatever its rank, so a long lab delays other work by at most that', async () => {
    const { t, r, scheduler, release } = await heldTransport({ rankWaitLimitMs: 30_000 });
    const ran: string[] = [];
    const processed = r.processor.process.bind(r.processor);
    r.processor.process = (j, signal) => (ran.push(j.operationId), processed(j, signal));
    await t.add(of('other-tenant-vm'), { delayMs: 0, rank: [9_000] });
    scheduler.advance(29_999);
    await t.add(of('lab-student-a'), { delayMs: 0, rank: [1_000, 1_001] });
    await t.add(of('lab-student-b'), { delayMs: 0, rank: [1_000, 1_002] });
    scheduler.advance(1);
    release();
    for (let i = 0; i < 10; i++) await settle();
    expect(ran).toEqual(['other-tenant-vm', 'lab-student-a', 'lab-student-b']);
    await t.close();
  });

  it('a removed waiting job is not run; a redelivered job waits again with its rank', async () => {
    const scheduler = manualScheduler();
    const t = createInProcessTransport({ logger: recordingLogger(), scheduler, redeliveryDelayMs: 1_000 });
    const ran: string[] = [];
    const gates = new Map<string, () => void>();
    let flakyFails = true;
    await t.start(
      {
        async process(j) {
          ran.push(j.operationId);
          if (j.operationId === 'flaky' && flakyFails) {
            flakyFails = false;
            throw new Error('upstream down');
          }
          if (j.operationId.startsWith('holder')) await new Promise<void>((r) => gates.set(j.operationId, r));
          return {};
        },
        async lost() {},
      },
      { concurrency: 1 },
    );
    await t.add(of('holder-1'), { delayMs: 0, rank: [0] });
    await settle();
    await t.add(of('dropped'), { delayMs: 0, rank: [1] });
    await t.add(of('flaky'), { delayMs: 0, rank: [1_000] });
    expect(await t.remove(of('dropped'))).toBe('removed');
    gates.get('holder-1')?.();
    await settle();
    // 'flaky' ran and failed; its redelivery is delayed. Hold the slot again, and queue a later-ranked job first.
    await t.add(of('holder-2'), { delayMs: 0, rank: [0] });
    await settle();
    await t.add(of('later'), { delayMs: 0, rank: [5_000] });
    scheduler.advance(1_000);
    expect((await t.counts())[0]).toMatchObject({ waiting: 2, active: 1 });
    gates.get('holder-2')?.();
    for (let i = 0; i < 10; i++) await settle();
    expect(ran).toEqual(['holder-1', 'flaky', 'holder-2', 'flaky', 'later']);
    await t.close();
  });
});

/** Lets the transport's promise chain after a delivery (finish, redelivery timer, pump) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
