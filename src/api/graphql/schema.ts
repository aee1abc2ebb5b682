/** Base GraphQL schema; modules add their types and `extend type Query/Mutation/Subscription`. */
export const baseTypeDefs = /* GraphQL */ `
  type TenantMembership {
    tenant: ID!
    role: TenantRole!
  }

  type Me {
    id: ID!
    name: String!
    kind: String!
    platformAdmin: Boolean!
    tenants: [TenantMembership!]!
  }

  type Query {
    me: Me!
  }

  type Mutation

  type Subscription
`;

/** Tenants and members over the same use cases as REST. */
export const tenantTypeDefs = /* GraphQL */ `
  enum TenantProfile {
    faculty
    student
    admin
  }
  enum TenantPhase {
    Active
    Terminating
  }
  enum TenantRole {
    owner
    member
  }
  enum PrincipalType {
    User
    Group
  }

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

  type VmCaps {
    maxCpu: Float!
    maxMemoryGi: Int!
  }

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

  type TenantConnection {
    items: [Tenant!]!
    nextCursor: String
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

  input VmCapsInput {
    maxCpu: Float
    maxMemoryGi: Int
  }

  input OwnerInput {
    principalId: ID!
    principalType: PrincipalType
    displayName: String
  }

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

  input MemberInput {
    role: TenantRole!
    principalType: PrincipalType
    displayName: String
  }

  extend type Query {
    tenants(limit: Int = 50, cursor: String, profile: TenantProfile): TenantConnection!
    tenant(id: ID!): Tenant!
  }

  extend type Mutation {
    createTenant(input: CreateTenantInput!): Tenant!
    updateTenant(id: ID!, input: UpdateTenantInput!, expectedVersion: String): Tenant!
    deleteTenant(id: ID!, force: Boolean = false): Operation!
    putMember(tenant: ID!, principalId: ID!, input: MemberInput!): Member!
    deleteMember(tenant: ID!, principalId: ID!): Boolean!
  }
`;
