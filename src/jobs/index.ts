export * from './job-kind.js';
export * from './retry-policy.js';
export * from './running-steps.js';
export * from './step-runner.js';
export * from './job-engine.js';
export * from './in-process-transport.js';
export * from './in-process-engine.js';
