import { runStartup } from './startup.js';
import { runWorker } from './worker-process.js';

runStartup('labplane worker', () => runWorker());
