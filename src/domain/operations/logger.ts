export type { Logger } from '../shared/logger.js';
