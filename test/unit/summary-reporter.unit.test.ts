import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestModule } from 'vitest/node';
import SummaryReporter from '../support/summary-reporter.js';

// Stand-ins for vitest's reported tasks, with what the reporter reads. What vitest reports for a
// failing hook (its tests skipped, the error on the suite) was checked against vitest 4.1.
type State = 'passed' | 'failed' | 'skipped';
const test = (state: State) => ({ result: () => ({ state }) });
const suite = (errors: number) => ({ errors: () => Array.from({ length: errors }, () => ({ message: 'boom' })) });
function moduleOf(tests: State[], opts: { errors?: number; suiteErrors?: number[] } = {}): TestModule {
  return {
    errors: suite(opts.errors ?? 0).errors,
    children: { allTests: () => tests.map(test)[Symbol.iterator](), allSuites: () => (opts.suiteErrors ?? []).map(suite)[Symbol.iterator]() },
  } as unknown as TestModule;
}

function summary(modules: TestModule[], unhandled = 0): string {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  new SummaryReporter().onTestRunEnd(
    modules,
    Array.from({ length: unhandled }, () => ({ message: 'x' })),
  );
  return String(write.mock.calls.at(-1)?.[0]).trim();
}
afterEach(() => vi.restoreAllMocks());

describe('summary reporter', () => {
  it('counts tests of every module by state', () => {
    expect(summary([moduleOf(['passed', 'failed']), moduleOf(['passed', 'skipped'])])).toBe('Tests: 2 passed, 1 failed, 1 skipped');
  });

  it('a failing beforeAll (its tests skipped), a file that does not load, and an unhandled error each count as a failure', () => {
    const hookFailed = moduleOf(['skipped', 'skipped', 'passed'], { suiteErrors: [1, 0] });
    const notLoaded = moduleOf([], { errors: 1 });
    expect(summary([hookFailed, notLoaded], 1)).toBe('Tests: 1 passed, 3 failed, 2 skipped');
  });
});
