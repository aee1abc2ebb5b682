export * from './operation-store.js';
export * from './idempotency-store.js';
export * from './event-bus.js';
export * from './lab-repository.js';
export * from './vm-repository.js';
export * from './image-repository.js';
export * from './lti-stores.js';
export * from './usage-ledger.js';
