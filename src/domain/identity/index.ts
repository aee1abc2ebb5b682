export * from './access.js';
export * from './arc-machine.js';
export * from './arc-machines-port.js';
export * from './onboarding.js';
export * from './token-bucket.js';
