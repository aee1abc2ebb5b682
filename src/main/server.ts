import { startTelemetry } from './telemetry.js';

// Tracing (when the OTEL_* variables ask for it) starts before anything it instruments is loaded.
await startTelemetry(process.env, { serviceName: 'labplane' });
const { runStartup } = await import('./startup.js');
const { runServer } = await import('./server-process.js');
runStartup('labplane', () => runServer());
