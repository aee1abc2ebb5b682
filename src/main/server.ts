import { runServer } from './server-process.js';
import { runStartup } from './startup.js';

runStartup('labplane', () => runServer());
