/** A test body run on a fresh fixture from `factory`, closed afterwards whatever happens (contract suites). */
export function withFixture<F extends { close(): Promise<void> }>(factory: () => Promise<F>, fn: (f: F) => Promise<void>): () => Promise<void> {
  return async () => {
    const f = await factory();
    try {
      await fn(f);
    } finally {
      await f.close();
    }
  };
}
