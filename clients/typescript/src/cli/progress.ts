import { SingleBar } from 'cli-progress';
import type { Operation } from '../operations.js';

export interface ProgressView {
  update(op: Operation): void;
  stop(): void;
}

/**
 * How an operation's progress shows while `--wait` waits: a bar redrawn in place on a terminal,
 * else one plain line per change (logs and CI keep readable). Both go to stderr, so that stdout
 * carries only the result (`-o json` stays parseable while the bar runs).
 */
export function progressView(stream: NodeJS.WriteStream = process.stderr): ProgressView {
  if (stream.isTTY === true) {
    const bar = new SingleBar({
      stream,
      format: '{kind} [{bar}] {percentage}% | {status} {step}',
      barCompleteChar: '#',
      barIncompleteChar: '-',
      hideCursor: true,
      clearOnComplete: false,
      // Redraw on every change even when not much time passed (a fast operation still shows its steps).
      fps: 20,
      noTTYOutput: false,
    });
    let started = false;
    return {
      update(op) {
        const payload = { kind: op.kind, status: op.status, step: op.progress.step ?? '' };
        if (!started) {
          bar.start(100, Math.round(op.progress.percent), payload);
          started = true;
        } else bar.update(Math.round(op.progress.percent), payload);
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  return {
    update(op) {
      stream.write(`${op.kind} ${op.id}: ${op.status} ${Math.round(op.progress.percent)}%${op.progress.step ? ` (${op.progress.step})` : ''}\n`);
    },
    stop() {},
  };
}
