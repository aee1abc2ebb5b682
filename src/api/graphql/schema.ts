/** GraphQL schema over the same use cases as REST. */
export const typeDefs = /* GraphQL */ `
  enum TenantProfile { faculty student admin }
  enum TenantPhase { Active Terminating }
  enum TenantRole { owner member }
  enum PrincipalType { User Group }

  type Quota {
    requestsCpu: Float!
    requestsMemoryGi: Int!
    limitsCpu: Float!
    limitsMemoryGi: Int!
    storageGi: Int!
    persistentVolumeClaims: Int!
    virtualMachines: Int!
  }

  "Consumption in the units of Quota; memory and storage may be fractional GiB."
  type QuotaUsage {
    requestsCpu: Float!
    requestsMemoryGi: Float!
    limitsCpu: Float!
    limitsMemoryGi: Float!
    storageGi: Float!
    persistentVolumeClaims: Int!
    virtualMachines: Int!
  }

  type VmCaps { maxCpu: Float! maxMemoryGi: Int! }

  type Member {
    principalId: ID!
    principalType: PrincipalType!
    role: TenantRole!
    displayName: String
  }

  type Tenant {
    id: ID!
    displayName: String!
    description: String
    profile: TenantProfile!
    quota: Quota!
    vmCaps: VmCaps!
    usage: QuotaUsage!
    phase: TenantPhase!
    createdAt: String!
    version: String!
    "Owners only."
    members: [Member!]!
  }

  type TenantConnection { items: [Tenant!]! nextCursor: String }

  type TenantMembership { tenant: ID! role: TenantRole! }

  type Me {
    id: ID!
    name: String!
    kind: String!
    platformAdmin: Boolean!
    tenants: [TenantMembership!]!
  }

  input QuotaInput {
    requestsCpu: Float
    requestsMemoryGi: Int
    limitsCpu: Float
    limitsMemoryGi: Int
    storageGi: Int
    persistentVolumeClaims: Int
    virtualMachines: Int
  }

  input VmCapsInput { maxCpu: Float maxMemoryGi: Int }

  input OwnerInput { principalId: ID! principalType: PrincipalType displayName: String }

  input CreateTenantInput {
    id: ID!
    displayName: String!
    description: String
    profile: TenantProfile!
    quota: QuotaInput
    vmCaps: VmCapsInput
    owners: [OwnerInput!]
  }

  input UpdateTenantInput {
    displayName: String
    description: String
    quota: QuotaInput
    vmCaps: VmCapsInput
  }

  input MemberInput { role: TenantRole! principalType: PrincipalType displayName: String }

  type Query {
    me: Me!
    tenants(limit: Int = 50, cursor: String, profile: TenantProfile): TenantConnection!
    tenant(id: ID!): Tenant!
  }

  type Mutation {
    createTenant(input: CreateTenantInput!): Tenant!
    updateTenant(id: ID!, input: UpdateTenantInput!, expectedVersion: String): Tenant!
    deleteTenant(id: ID!, force: Boolean = false): Boolean!
    putMember(tenant: ID!, principalId: ID!, input: MemberInput!): Member!
    deleteMember(tenant: ID!, principalId: ID!): Boolean!
  }
`;
