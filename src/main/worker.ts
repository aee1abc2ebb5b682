import { startTelemetry } from './telemetry.js';

// Tracing (when the OTEL_* variables ask for it) starts before anything it instruments is loaded.
await startTelemetry(process.env, { serviceName: 'labplane-worker' });
const { runStartup } = await import('./startup.js');
const { runWorker } = await import('./worker-process.js');
runStartup('labplane worker', () => runWorker());
