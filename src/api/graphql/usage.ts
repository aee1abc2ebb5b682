import type { UsageService } from '../../domain/usage/usage-service.js';
import { labUsageDto, tenantUsageDto } from '../rest/usage.js';
import { requirePrincipal, type GraphQLContext } from './context.js';

/** Usage reports over the same use cases as REST (`GET .../labs/{lab}/usage`, `GET .../usage`). */
export const usageTypeDefs = /* GraphQL */ `
  type UsageStudent {
    id: ID!
    email: String
    displayName: String
  }
  "A student's hours of use (outside class hours) against the lab's quota; hours rounded down to the hundredth."
  type StudentUsage {
    student: UsageStudent!
    vm: String!
    usedHours: Float!
    "Absent when the lab sets no quota."
    quotaHours: Float
    addedHours: Float!
    leftHours: Float
    exhausted: Boolean!
    runningSince: String
    exhaustsAt: String
  }
  type LabUsage {
    tenant: ID!
    lab: ID!
    at: String!
    quotaHours: Float
    students: [StudentUsage!]!
  }
  type LabUsageTotals {
    lab: ID!
    students: Int!
    usedHours: Float!
    quotaHours: Float
    exhaustedStudents: Int!
  }
  type OtherVmsUsage {
    vms: Int!
    usedHours: Float!
  }
  type TenantUsage {
    tenant: ID!
    at: String!
    labs: [LabUsageTotals!]!
    otherVms: OtherVmsUsage!
  }

  extend type Query {
    "Each roster student's usage against the lab's quota."
    labUsage(tenant: ID!, lab: ID!): LabUsage!
    "Usage per lab and of the VMs outside labs (owners, integrations, platform administrators)."
    tenantUsage(tenant: ID!): TenantUsage!
  }
`;

export function usageResolvers(usage: UsageService) {
  return {
    Query: {
      labUsage: async (_: unknown, a: { tenant: string; lab: string }, ctx: GraphQLContext) =>
        labUsageDto(await usage.labUsage(requirePrincipal(ctx), a.tenant, a.lab)),
      tenantUsage: async (_: unknown, a: { tenant: string }, ctx: GraphQLContext) =>
        tenantUsageDto(await usage.tenantUsage(requirePrincipal(ctx), a.tenant)),
    },
  };
}
