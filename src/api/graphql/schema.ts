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

  "ISO 8601 durations (e.g. PT15M) throughout; see AutoShutdownProfile in the OpenAPI contract."
  type DelayedShutdown {
    enabled: Boolean!
    delay: String!
  }
  enum IdleMode {
    none
    userAbsence
    lowUsage
  }
  type UsageThresholds {
    cpuCores: Float!
    networkBytesPerSecond: Float!
    diskBytesPerSecond: Float!
  }
  type IdleShutdown {
    mode: IdleMode!
    delay: String!
    "lowUsage only; null: the defaults."
    thresholds: UsageThresholds
  }
  "When a running VM is stopped for lack of use (Azure Lab Services' three settings)."
  type AutoShutdownProfile {
    shutdownOnDisconnect: DelayedShutdown!
    shutdownWhenNotConnected: DelayedShutdown!
    shutdownOnIdle: IdleShutdown!
  }
  type CostControls {
    autoShutdown: AutoShutdownProfile!
    "Between the warning webhook and the stop (0 to 1 h)."
    warningPeriod: String!
  }
  input DelayedShutdownInput {
    enabled: Boolean!
    delay: String!
  }
  input UsageThresholdsInput {
    cpuCores: Float!
    networkBytesPerSecond: Float!
    diskBytesPerSecond: Float!
  }
  input IdleShutdownInput {
    mode: IdleMode!
    delay: String!
    thresholds: UsageThresholdsInput
  }
  input AutoShutdownProfileInput {
    shutdownOnDisconnect: DelayedShutdownInput!
    shutdownWhenNotConnected: DelayedShutdownInput!
    shutdownOnIdle: IdleShutdownInput!
  }
  "Absent parts take the defaults (create) or stay (update)."
  input CostControlsInput {
    autoShutdown: AutoShutdownProfileInput
    warningPeriod: String
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
    "Auto-shutdown of the tenant's VMs outside labs; null: none."
    costControls: CostControls
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
    costControls: CostControlsInput
  }

  "costControls: the given parts change; null removes them."
  input UpdateTenantInput {
    displayName: String
    description: String
    quota: QuotaInput
    vmCaps: VmCapsInput
    costControls: CostControlsInput
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
