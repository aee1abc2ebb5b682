// Generated from openapi/openapi.yaml by `npm run client:generate`; do not edit.

/** Path templates whose POST takes an `Idempotency-Key` header. */
export const IDEMPOTENT_POSTS: ReadonlySet<string> = new Set([
  '/v1/images',
  '/v1/nodes/{node}/evacuate',
  '/v1/operations/{operationId}/cancel',
  '/v1/tenants',
  '/v1/tenants/{tenant}/images',
  '/v1/tenants/{tenant}/labs',
  '/v1/tenants/{tenant}/labs/{lab}/reimage',
  '/v1/tenants/{tenant}/labs/{lab}/students/{student}/retry',
  '/v1/tenants/{tenant}/labs/{lab}/students/{student}/usage-hours',
  '/v1/tenants/{tenant}/labs/{lab}/template-vm',
  '/v1/tenants/{tenant}/labs/{lab}/template-vm/publish',
  '/v1/tenants/{tenant}/lti/registrations',
  '/v1/tenants/{tenant}/vms',
  '/v1/tenants/{tenant}/vms/{vm}/clone',
  '/v1/tenants/{tenant}/vms/{vm}/identity/retry',
  '/v1/tenants/{tenant}/vms/{vm}/migrate',
  '/v1/tenants/{tenant}/vms/{vm}/publish',
  '/v1/tenants/{tenant}/vms/{vm}/reimage',
  '/v1/tenants/{tenant}/vms/{vm}/restart',
  '/v1/tenants/{tenant}/vms/{vm}/restore',
  '/v1/tenants/{tenant}/vms/{vm}/snapshots',
  '/v1/tenants/{tenant}/vms/{vm}/start',
  '/v1/tenants/{tenant}/vms/{vm}/stop',
  '/v1/tenants/{tenant}/webhooks',
]);
