import type { AuditService } from '../../domain/audit/audit.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import type { TenantService } from '../../domain/tenants/tenant-service.js';
import { operationResolvers, operationTypeDefs } from '../graphql/operations.js';
import { tenantResolvers } from '../graphql/resolvers.js';
import { tenantTypeDefs } from '../graphql/schema.js';
import type { ApiModule } from '../module.js';
import { auditHandlers } from '../rest/audit.js';
import { operationHandlers } from '../rest/operations.js';
import { tenantHandlers } from '../rest/tenants.js';

export function tenantsModule(tenants: TenantService): ApiModule {
  return { name: 'tenants', handlers: tenantHandlers(tenants), graphql: { typeDefs: tenantTypeDefs, resolvers: tenantResolvers({ tenants }) } };
}

export function operationsModule(operations: OperationService): ApiModule {
  return { name: 'operations', handlers: operationHandlers(operations), graphql: { typeDefs: operationTypeDefs, resolvers: operationResolvers(operations) } };
}

export function auditModule(audit: AuditService): ApiModule {
  return { name: 'audit', handlers: auditHandlers(audit) };
}
