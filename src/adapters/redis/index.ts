export * from './redis-connection.js';
export * from './operation-store.js';
export * from './idempotency-store.js';
export * from './event-bus.js';
export * from './bullmq-transport.js';
export * from './job-metrics.js';
export * from './lti-stores.js';
export * from './usage-ledger.js';
