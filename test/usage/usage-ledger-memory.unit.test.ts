import { createMemoryUsageLedger } from '../../src/adapters/memory/usage-ledger.js';
import { usageLedgerContract } from '../contracts/usage-ledger.contract.js';

usageLedgerContract('memory', async () => {
  const ledger = createMemoryUsageLedger();
  // One process: a second ledger "on the same store" is the same object.
  return { ledger, reopen: () => ledger, close: async () => undefined };
});
