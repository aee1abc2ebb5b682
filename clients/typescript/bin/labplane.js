#!/usr/bin/env node
// The `labplane` bin: the compiled CLI (dist/, from `npm run build`). A checked-in launcher, so that
// npm links the bin at install time, before the package is built.
try {
  await import('../dist/cli/main.js');
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('labplane is not built yet: run `npm run client:build` at the repository root.');
    process.exit(1);
  }
  throw error;
}
