import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { toOperation, type Operation } from '../../src/domain/operations/operation.js';
import type { OperationEvents } from '../../src/domain/operations/operation-events.js';
import { waitFor } from '../jobs/helpers.js';
import { anOperation } from './operation-store.contract.js';

/** Two handles on one bus: `a` and `b` stand for two processes (the same object for in-process buses). */
export type OperationEventsFactory = () => Promise<{ readonly a: OperationEvents; readonly b: OperationEvents; close(): Promise<void> }>;

export function operationEventsContract(name: string, factory: OperationEventsFactory): void {
  describe(`OperationEvents contract: ${name}`, () => {
    const withBus = async (fn: (a: OperationEvents, b: OperationEvents) => Promise<void>): Promise<void> => {
      const h = await factory();
      try {
        await fn(h.a, h.b);
      } finally {
        await h.close();
      }
    };

    it('delivers updates of one operation, in order, to its subscribers in other processes', () =>
      withBus(async (a, b) => {
        const op = toOperation(anOperation(1));
        const other = toOperation(anOperation(2));
        const got: Operation[] = [];
        await b.subscribe({ operationId: op.id }, (u) => got.push(u));
        await a.publish(op);
        await a.publish(other);
        await a.publish({ ...op, status: 'running' });
        await a.publish({ ...op, status: 'succeeded' });
        await waitFor(() => got.length === 3, 2_000, 'three updates');
        expect(got.map((u) => u.status)).toEqual(['queued', 'running', 'succeeded']);
        expect(got[0]).toEqual(op);
      }));

    it('delivers by tenant and to "all" subscribers; unsubscribe stops delivery', () =>
      withBus(async (a, b) => {
        const lab1: string[] = [];
        const all: string[] = [];
        const sub = await b.subscribe({ tenant: 'lab1' }, (u) => lab1.push(u.target.id));
        await b.subscribe({ all: true }, (u) => all.push(u.target.id));
        await a.publish(toOperation(anOperation(1, { tenant: 'lab1' })));
        await a.publish(toOperation(anOperation(2, { tenant: 'lab2' })));
        const { tenant: _t, ...platform } = anOperation(3);
        await a.publish(toOperation(platform));
        await waitFor(() => all.length === 3, 2_000, 'three updates');
        expect(lab1).toEqual(['vm-1']);
        sub.unsubscribe();
        await a.publish(toOperation(anOperation(4, { tenant: 'lab1' })));
        await waitFor(() => all.length === 4, 2_000, 'the fourth update');
        // Real time: on Redis each subscription has its own connection, so one subscriber's message says nothing of another's; the wait is the window in which a wrong delivery would show.
        await sleep(30);
        expect(lab1).toEqual(['vm-1']);
      }));

    it('delivers to "cancels" subscribers only cancels of operations still running', () =>
      withBus(async (a, b) => {
        const got: string[] = [];
        const all: string[] = [];
        await b.subscribe({ cancels: true }, (u) => got.push(`${u.target.id}:${u.status}`));
        await b.subscribe({ all: true }, (u) => all.push(u.id));
        const op = toOperation(anOperation(1));
        await a.publish(op);
        await a.publish({ ...op, status: 'running' });
        await a.publish({ ...op, status: 'running', cancelRequested: true });
        await a.publish({ ...op, status: 'canceled', cancelRequested: true });
        await waitFor(() => all.length === 4, 2_000, 'four updates');
        // Real time: as above, another subscription's messages say nothing of this one's.
        await sleep(30);
        expect(got).toEqual(['vm-1:running']);
      }));

    it('keeps delivering to others when a listener throws', () =>
      withBus(async (a, b) => {
        const got: string[] = [];
        await b.subscribe({ all: true }, () => {
          throw new Error('bad listener');
        });
        await b.subscribe({ all: true }, (u) => got.push(u.id));
        const op = toOperation(anOperation(1));
        await a.publish(op);
        await waitFor(() => got.length === 1, 2_000, 'the update');
        expect(got).toEqual([op.id]);
      }));
  });
}
