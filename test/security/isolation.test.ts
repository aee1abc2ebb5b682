import type { GraphQLSchema } from 'graphql';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContract } from '../support/contract.js';
import { startTestApp, uniqueTenantId, type TestApp } from '../support/test-app.js';
import { eventually } from '../support/eventually.js';

/**
 * Every operation of the contract and every GraphQL root field, called by principals of another
 * tenant against tenant A's resources: zero successes, 404 (never 403) where a tenant is named,
 * and no id of tenant A in any answer. A new route without a case here fails the test.
 */
interface Fixture {
  a: string;
  aImage: string;
  aDeletable: string;
  aOperation: string;
  aVm: string;
  /** A snapshot of `aVm`. */
  aSnapshot: string;
  /** A VM of tenant A with Azure Arc on (access grants live on its Arc machine). */
  aArcVm: string;
  /** Webhooks of tenant A: one kept, one the admin case deletes. */
  aWebhook: string;
  aWebhookDeletable: string;
  /** A delivery (a ping) to `aWebhook`. */
  aDelivery: string;
  /** A lab of tenant A (no students, so it costs no quota). */
  aLab: string;
  /** LTI platform registrations of tenant A: one kept, one the admin case deletes. */
  aLti: string;
  aLtiDeletable: string;
  /** Strings that identify tenant A's things and must never reach a foreign caller. */
  secrets: string[];
}
interface Call {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  url: string;
  body?: unknown;
  /** Tenant-scoped: a foreign caller must get 404. Otherwise 403 (platform-only) or a filtered 2xx. */
  scoped: boolean;
  /** Admin's expected statuses, proving the call reaches a real resource. */
  adminOk: number[];
}

const REST_CASES: Record<string, (f: Fixture) => Call | 'public'> = {
  getHealth: () => 'public',
  getReadiness: () => 'public',
  createDevToken: () => 'public',
  getMetrics: () => 'public',
  getOpenApi: () => 'public',
  getApiDocs: () => 'public',
  // GraphQL authenticates per field: its root fields have their own cases below.
  postGraphQL: () => 'public',
  // The LTI pages authenticate by the launch's session cookie, never a bearer token: a session reaches
  // only its own tenant's lab (and a learner only their own VM), tested in test/lti/lti-pages.test.ts.
  getLtiStylesheet: () => 'public',
  getLtiLearnerPage: () => 'public',
  startLtiLearnerVm: () => 'public',
  stopLtiLearnerVm: () => 'public',
  getLtiInstructorPage: () => 'public',
  syncLtiLabRoster: () => 'public',
  retryLtiLabStudent: () => 'public',
  getQueueDashboard: () => ({ method: 'get', url: '/admin/queues', scoped: false, adminOk: [404] }),
  // The LTI launch takes no bearer token: a launch is bound to one registration (so one tenant) by
  // its signed id_token, the Deep Linking pages by its session (test/lti/lti-launch.test.ts, lti-deep-linking.test.ts).
  ltiLoginGet: () => 'public',
  ltiLoginPost: () => 'public',
  ltiLaunch: () => 'public',
  ltiDeepLinkPage: () => 'public',
  ltiDeepLinkUse: () => 'public',
  ltiDeepLinkCreate: () => 'public',
  getLtiDeepLinkScript: () => 'public',
  listTenants: () => ({ method: 'get', url: '/v1/tenants?limit=500', scoped: false, adminOk: [200] }),
  createTenant: (f) => ({
    method: 'post',
    url: '/v1/tenants',
    body: { id: f.a, displayName: 'takeover', profile: 'admin' },
    scoped: false,
    adminOk: [409],
  }),
  getTenant: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}`, scoped: true, adminOk: [200] }),
  updateTenant: (f) => ({ method: 'patch', url: `/v1/tenants/${f.a}`, body: { displayName: 'pwned' }, scoped: true, adminOk: [200] }),
  deleteTenant: (f) => ({ method: 'delete', url: `/v1/tenants/${f.aDeletable}`, scoped: true, adminOk: [202] }),
  listMembers: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/members`, scoped: true, adminOk: [200] }),
  putMember: (f) => ({ method: 'put', url: `/v1/tenants/${f.a}/members/intruder`, body: { role: 'owner' }, scoped: true, adminOk: [201, 200] }),
  getMember: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/members/owner-a`, scoped: true, adminOk: [200] }),
  deleteMember: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/members/member-a`, scoped: true, adminOk: [204] }),
  listOperations: () => ({ method: 'get', url: '/v1/operations?limit=500', scoped: false, adminOk: [200] }),
  getOperation: (f) => ({ method: 'get', url: `/v1/operations/${f.aOperation}`, scoped: true, adminOk: [200] }),
  cancelOperation: (f) => ({ method: 'post', url: `/v1/operations/${f.aOperation}/cancel`, scoped: true, adminOk: [202, 409] }),
  listImages: () => ({ method: 'get', url: '/v1/images?limit=500', scoped: false, adminOk: [200] }),
  importImage: () => ({
    method: 'post',
    url: '/v1/images',
    body: { name: 'iso-platform', source: { type: 'http', url: 'https://images.example.com/x.qcow2' }, sizeGi: 5 },
    scoped: false,
    adminOk: [202],
  }),
  getImage: () => ({ method: 'get', url: '/v1/images/ubuntu-24-04', scoped: false, adminOk: [200] }),
  deleteImage: () => ({ method: 'delete', url: '/v1/images/iso-platform', scoped: false, adminOk: [204] }),
  listTenantImages: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/images`, scoped: true, adminOk: [200] }),
  importTenantImage: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/images`,
    body: { name: 'intruder-img', source: { type: 'http', url: 'https://images.example.com/y.qcow2' }, sizeGi: 5 },
    scoped: true,
    adminOk: [202],
  }),
  getTenantImage: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/images/${f.aImage}`, scoped: true, adminOk: [200] }),
  deleteTenantImage: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/images/${f.aImage}`, scoped: true, adminOk: [204] }),
  listInstanceTypes: (f) => ({ method: 'get', url: `/v1/instance-types?tenant=${f.a}`, scoped: true, adminOk: [200] }),
  listVms: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms`, scoped: true, adminOk: [200] }),
  createVm: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms`,
    body: {
      name: 'intruder-vm',
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      sshPublicKeys: [SSH_KEY],
      running: false,
    },
    scoped: true,
    adminOk: [202],
  }),
  getVm: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms/${f.aVm}`, scoped: true, adminOk: [200] }),
  updateVm: (f) => ({ method: 'patch', url: `/v1/tenants/${f.a}/vms/${f.aVm}`, body: { running: false }, scoped: true, adminOk: [200] }),
  deleteVm: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/vms/intruder-vm`, scoped: true, adminOk: [202, 404] }),
  startVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/start`, scoped: true, adminOk: [202, 409] }),
  stopVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/stop`, scoped: true, adminOk: [202, 409] }),
  restartVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/restart`, scoped: true, adminOk: [202, 409] }),
  migrateVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/migrate`, scoped: true, adminOk: [202, 409] }),
  retryVmIdentity: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/identity/retry`, scoped: true, adminOk: [202, 409] }),
  listVmSnapshots: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms/${f.aVm}/snapshots`, scoped: true, adminOk: [200] }),
  createVmSnapshot: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms/${f.aVm}/snapshots`,
    body: { name: 'intruder-snap' },
    scoped: true,
    adminOk: [202],
  }),
  getVmSnapshot: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms/${f.aVm}/snapshots/${f.aSnapshot}`, scoped: true, adminOk: [200] }),
  // The admin's snapshot may not be written yet when its delete comes: 404 proves the route was reached too.
  deleteVmSnapshot: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/vms/${f.aVm}/snapshots/intruder-snap`, scoped: true, adminOk: [204, 404] }),
  restoreVm: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms/${f.aVm}/restore`,
    body: { snapshot: f.aSnapshot, stopFirst: true },
    scoped: true,
    adminOk: [202],
  }),
  cloneVm: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms/${f.aVm}/clone`,
    body: { name: 'intruder-clone' },
    scoped: true,
    adminOk: [202, 409],
  }),
  publishVm: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms/${f.aVm}/publish`,
    body: { image: 'intruder-image', stopFirst: true },
    scoped: true,
    adminOk: [202, 409],
  }),
  // The fixture's VM may be restoring when the admin's reimage comes: 409 proves the route was reached too.
  reimageVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/vms/${f.aVm}/reimage`, body: {}, scoped: true, adminOk: [202, 409] }),
  listVmAccess: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms/${f.aArcVm}/access`, scoped: true, adminOk: [200] }),
  // The owner's own grant is made once the Arc machine is onboarded: 404 (none yet) reaches the route too.
  getVmAccess: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/vms/${f.aArcVm}/access/owner-a`, scoped: true, adminOk: [200, 404] }),
  grantVmAccess: (f) => ({
    method: 'put',
    url: `/v1/tenants/${f.a}/vms/${f.aArcVm}/access/intruder`,
    body: { role: 'administrator', principalType: 'User' },
    scoped: true,
    adminOk: [200],
  }),
  revokeVmAccess: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/vms/${f.aArcVm}/access/intruder`, scoped: true, adminOk: [204] }),
  // The fixture's VM may be stopped or restoring (409): the route was reached all the same.
  createConsoleTicket: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/vms/${f.aVm}/console`,
    body: { type: 'vnc' },
    scoped: true,
    adminOk: [201, 409],
  }),
  // The console's socket takes a ticket, not a bearer token (its rules: test/vms/console.test.ts);
  // its pages hold nothing until a ticket opens them.
  openConsole: () => 'public',
  getVncConsolePage: () => 'public',
  getSerialConsolePage: () => 'public',
  listNodes: () => ({ method: 'get', url: '/v1/nodes', scoped: false, adminOk: [200] }),
  evacuateNode: () => ({ method: 'post', url: '/v1/nodes/aks-kubevirt-0002/evacuate', scoped: false, adminOk: [202] }),
  listAuditEvents: (f) => ({ method: 'get', url: `/v1/audit?tenant=${f.a}`, scoped: true, adminOk: [200] }),
  // The tool's key set is public (LMSs fetch it); rotating it is for platform admins only.
  getLtiJwks: () => 'public',
  rotateLtiKeys: () => ({ method: 'post', url: '/v1/lti/keys/rotate', scoped: false, adminOk: [200, 204] }),
  listLtiRegistrations: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/lti/registrations`, scoped: true, adminOk: [200] }),
  createLtiRegistration: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/lti/registrations`,
    body: {
      issuer: 'https://lms.example.edu',
      clientId: 'intruder',
      deploymentIds: ['d1'],
      authLoginUrl: 'https://lms.example.edu/auth',
      accessTokenUrl: 'https://lms.example.edu/token',
      jwksUrl: 'https://lms.example.edu/jwks',
    },
    scoped: true,
    adminOk: [201],
  }),
  getLtiRegistration: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/lti/registrations/${f.aLti}`, scoped: true, adminOk: [200] }),
  updateLtiRegistration: (f) => ({
    method: 'put',
    url: `/v1/tenants/${f.a}/lti/registrations/${f.aLti}`,
    body: {
      ...{
        issuer: 'https://lms.example.edu',
        clientId: 'intruder',
        deploymentIds: ['d1'],
        authLoginUrl: 'https://lms.example.edu/auth',
        accessTokenUrl: 'https://lms.example.edu/token',
        jwksUrl: 'https://lms.example.edu/jwks',
      },
      clientId: 'kept-a',
    },
    scoped: true,
    adminOk: [200],
  }),
  deleteLtiRegistration: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/lti/registrations/${f.aLtiDeletable}`, scoped: true, adminOk: [204] }),
  getLtiToolConfiguration: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/lti/tool-configuration`, scoped: true, adminOk: [200] }),
  listWebhooks: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/webhooks`, scoped: true, adminOk: [200] }),
  createWebhook: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/webhooks`,
    body: { url: 'https://images.example.com/intruder', events: ['operation.succeeded'] },
    scoped: true,
    adminOk: [201],
  }),
  getWebhook: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}`, scoped: true, adminOk: [200] }),
  deleteWebhook: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/webhooks/${f.aWebhookDeletable}`, scoped: true, adminOk: [204] }),
  listWebhookDeliveries: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}/deliveries`, scoped: true, adminOk: [200] }),
  updateWebhook: (f) => ({
    method: 'patch',
    url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}`,
    body: { url: 'https://images.example.com/intruder' },
    scoped: true,
    adminOk: [200],
  }),
  pingWebhook: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}/ping`, scoped: true, adminOk: [202] }),
  rotateWebhookSecret: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}/rotate-secret`, scoped: true, adminOk: [200] }),
  getWebhookDelivery: (f) => ({
    method: 'get',
    url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}/deliveries/${f.aDelivery}`,
    scoped: true,
    adminOk: [200],
  }),
  // The ping to images.example.com has no receiver in the simulated network: still being tried (409) or failed (202).
  redeliverWebhookDelivery: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/webhooks/${f.aWebhook}/deliveries/${f.aDelivery}/redeliver`,
    scoped: true,
    adminOk: [202, 409],
  }),
  listLabs: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/labs`, scoped: true, adminOk: [200] }),
  createLab: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/labs`,
    body: { name: 'intruder-lab', template: LAB_TEMPLATE },
    scoped: true,
    adminOk: [202],
  }),
  getLab: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/labs/${f.aLab}`, scoped: true, adminOk: [200] }),
  updateLab: (f) => ({ method: 'patch', url: `/v1/tenants/${f.a}/labs/${f.aLab}`, body: { displayName: 'pwned' }, scoped: true, adminOk: [200] }),
  deleteLab: (f) => ({ method: 'delete', url: `/v1/tenants/${f.a}/labs/intruder-lab`, scoped: true, adminOk: [202, 404] }),
  syncLabRoster: (f) => ({ method: 'put', url: `/v1/tenants/${f.a}/labs/${f.aLab}/roster`, body: { students: [] }, scoped: true, adminOk: [202] }),
  // The fixture's lab has no students: the admin's reimage has nothing to do but is accepted.
  reimageLab: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/labs/${f.aLab}/reimage`, body: {}, scoped: true, adminOk: [202] }),
  createLabTemplateVm: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/labs/${f.aLab}/template-vm`, body: {}, scoped: true, adminOk: [202, 409] }),
  // Whether the admin's create came first decides between the VM and TEMPLATE_VM_NOT_FOUND.
  getLabTemplateVm: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/labs/${f.aLab}/template-vm`, scoped: true, adminOk: [200, 404] }),
  // No template VM yet (404), or one still being made (409 from the publish), or published (202).
  publishLabTemplate: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/labs/${f.aLab}/template-vm/publish`,
    body: {},
    scoped: true,
    adminOk: [202, 404, 409],
  }),
  listLabStudents: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/labs/${f.aLab}/students`, scoped: true, adminOk: [200] }),
  getLabUsage: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/labs/${f.aLab}/usage`, scoped: true, adminOk: [200] }),
  getTenantUsage: (f) => ({ method: 'get', url: `/v1/tenants/${f.a}/usage`, scoped: true, adminOk: [200] }),
  // The fixture's lab is not bound to an LMS course: the admin gets past authorization to the 409.
  syncLabFromLms: (f) => ({ method: 'post', url: `/v1/tenants/${f.a}/labs/${f.aLab}/lti/sync`, scoped: true, adminOk: [409] }),
  retryLabStudent: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/labs/${f.aLab}/students/${ABSENT_STUDENT}/retry`,
    scoped: true,
    adminOk: [404],
  }),
  // The fixture's lab has no students: the admin gets past authorization to the student's 404.
  addLabUsageHours: (f) => ({
    method: 'post',
    url: `/v1/tenants/${f.a}/labs/${f.aLab}/students/${ABSENT_STUDENT}/usage-hours`,
    body: { hours: 1 },
    scoped: true,
    adminOk: [404],
  }),
};

const GRAPHQL_CASES: Record<string, (f: Fixture) => { query: string; variables?: Record<string, unknown> }> = {
  'Query.me': () => ({ query: '{ me { id tenants { tenant } } }' }),
  'Query.tenants': () => ({ query: '{ tenants(limit: 500) { items { id } } }' }),
  'Query.tenant': (f) => ({ query: 'query($id: ID!) { tenant(id: $id) { id members { principalId } } }', variables: { id: f.a } }),
  'Query.operation': (f) => ({ query: 'query($id: ID!) { operation(id: $id) { id } }', variables: { id: f.aOperation } }),
  'Query.operations': (f) => ({ query: 'query($t: ID) { operations(tenant: $t) { items { id } } }', variables: { t: f.a } }),
  'Query.images': () => ({ query: '{ images(limit: 500) { items { name } } }' }),
  'Query.image': (f) => ({ query: 'query($t: ID!, $n: ID!) { image(tenant: $t, name: $n) { name } }', variables: { t: f.a, n: f.aImage } }),
  'Query.tenantImages': (f) => ({ query: 'query($t: ID!) { tenantImages(tenant: $t) { items { name } } }', variables: { t: f.a } }),
  'Mutation.importImage': (f) => ({
    query:
      'mutation($t: ID) { importImage(tenant: $t, input: {name: "intruder-img", source: {type: http, url: "https://images.example.com/z.qcow2"}, sizeGi: 5}) { id } }',
    variables: { t: f.a },
  }),
  'Mutation.deleteImage': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { deleteImage(tenant: $t, name: $n) }', variables: { t: f.a, n: f.aImage } }),
  'Mutation.createTenant': (f) => ({
    query: 'mutation($id: ID!) { createTenant(input: {id: $id, displayName: "x", profile: admin}) { id } }',
    variables: { id: f.a },
  }),
  'Mutation.updateTenant': (f) => ({
    query: 'mutation($id: ID!) { updateTenant(id: $id, input: {displayName: "pwned"}) { id } }',
    variables: { id: f.a },
  }),
  'Mutation.deleteTenant': (f) => ({ query: 'mutation($id: ID!) { deleteTenant(id: $id) { id } }', variables: { id: f.aDeletable } }),
  'Mutation.putMember': (f) => ({
    query: 'mutation($t: ID!) { putMember(tenant: $t, principalId: "intruder", input: {role: owner}) { role } }',
    variables: { t: f.a },
  }),
  'Mutation.deleteMember': (f) => ({ query: 'mutation($t: ID!) { deleteMember(tenant: $t, principalId: "member-a") }', variables: { t: f.a } }),
  'Query.instanceTypes': (f) => ({ query: 'query($t: ID) { instanceTypes(tenant: $t) { name } }', variables: { t: f.a } }),
  'Query.vms': (f) => ({ query: 'query($t: ID!) { vms(tenant: $t) { items { name owner } } }', variables: { t: f.a } }),
  'Query.vm': (f) => ({
    query: 'query($t: ID!, $n: ID!) { vm(tenant: $t, name: $n) { name owner autoShutdown { signals } } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Query.nodes': () => ({ query: '{ nodes { name } }' }),
  'Query.vmAccess': (f) => ({
    query: 'query($t: ID!, $n: ID!) { vmAccess(tenant: $t, name: $n) { principalId role } }',
    variables: { t: f.a, n: f.aArcVm },
  }),
  'Mutation.grantVmAccess': (f) => ({
    query:
      'mutation($t: ID!, $n: ID!) { grantVmAccess(tenant: $t, name: $n, principalId: "intruder", role: administrator, principalType: User) { principalId } }',
    variables: { t: f.a, n: f.aArcVm },
  }),
  'Mutation.createConsoleTicket': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { createConsoleTicket(tenant: $t, vm: $n, type: serial) { ticket } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.revokeVmAccess': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { revokeVmAccess(tenant: $t, name: $n, principalId: "member-a") }',
    variables: { t: f.a, n: f.aArcVm },
  }),
  'Mutation.createVm': (f) => ({
    query:
      'mutation($t: ID!, $k: String!) { createVm(tenant: $t, input: {name: "intruder-vm", image: {scope: platform, name: "ubuntu-24-04"}, instanceType: "small", diskGi: 10, storageClass: "kv-standard", sshPublicKeys: [$k], running: false}) { id } }',
    variables: { t: f.a, k: SSH_KEY },
  }),
  'Mutation.updateVm': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { updateVm(tenant: $t, name: $n, input: {running: false}) { name } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.deleteVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { deleteVm(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Mutation.startVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { startVm(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Mutation.stopVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { stopVm(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Mutation.restartVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { restartVm(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Mutation.migrateVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { migrateVm(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Mutation.retryVmIdentity': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { retryVmIdentity(tenant: $t, name: $n) { id } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Query.vmSnapshots': (f) => ({
    query: 'query($t: ID!, $n: ID!) { vmSnapshots(tenant: $t, vm: $n) { name vm } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.createVmSnapshot': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { createVmSnapshot(tenant: $t, vm: $n, name: "gql-intruder") { id } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.deleteVmSnapshot': (f) => ({
    query: 'mutation($t: ID!, $n: ID!, $s: ID!) { deleteVmSnapshot(tenant: $t, vm: $n, name: $s) }',
    variables: { t: f.a, n: f.aVm, s: f.aSnapshot },
  }),
  'Mutation.restoreVm': (f) => ({
    query: 'mutation($t: ID!, $n: ID!, $s: ID!) { restoreVm(tenant: $t, vm: $n, snapshot: $s, stopFirst: true) { id } }',
    variables: { t: f.a, n: f.aVm, s: f.aSnapshot },
  }),
  'Mutation.cloneVm': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { cloneVm(tenant: $t, vm: $n, name: "gql-intruder-clone") { id } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.publishVm': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { publishVm(tenant: $t, vm: $n, image: "gql-intruder-image", stopFirst: true) { id } }',
    variables: { t: f.a, n: f.aVm },
  }),
  'Mutation.reimageVm': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { reimageVm(tenant: $t, vm: $n) { id } }', variables: { t: f.a, n: f.aVm } }),
  'Query.labTemplateVm': (f) => ({
    query: 'query($t: ID!, $n: ID!) { labTemplateVm(tenant: $t, lab: $n) { name } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.reimageLab': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { reimageLab(tenant: $t, lab: $n) { id } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.createLabTemplateVm': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { createLabTemplateVm(tenant: $t, lab: $n) { id } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.publishLabTemplate': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { publishLabTemplate(tenant: $t, lab: $n) { id } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.evacuateNode': () => ({ query: 'mutation { evacuateNode(node: "aks-kubevirt-0002") { id } }' }),
  'Mutation.cancelOperation': (f) => ({ query: 'mutation($id: ID!) { cancelOperation(id: $id) { id } }', variables: { id: f.aOperation } }),
  'Query.ltiRegistrations': (f) => ({ query: 'query($t: ID!) { ltiRegistrations(tenant: $t) { id issuer } }', variables: { t: f.a } }),
  'Query.ltiRegistration': (f) => ({
    query: 'query($t: ID!, $id: ID!) { ltiRegistration(tenant: $t, id: $id) { id } }',
    variables: { t: f.a, id: f.aLti },
  }),
  'Mutation.createLtiRegistration': (f) => ({
    query:
      'mutation($t: ID!) { createLtiRegistration(tenant: $t, input: {issuer: "https://lms.example.edu", clientId: "gql-intruder", deploymentIds: ["d1"], authLoginUrl: "https://lms.example.edu/auth", accessTokenUrl: "https://lms.example.edu/token", jwksUrl: "https://lms.example.edu/jwks"}) { id } }',
    variables: { t: f.a },
  }),
  'Mutation.updateLtiRegistration': (f) => ({
    query:
      'mutation($t: ID!, $id: ID!) { updateLtiRegistration(tenant: $t, id: $id, input: {issuer: "https://lms.example.edu", clientId: "gql-intruder", deploymentIds: ["d1"], authLoginUrl: "https://lms.example.edu/auth", accessTokenUrl: "https://lms.example.edu/token", jwksUrl: "https://lms.example.edu/jwks"}) { id } }',
    variables: { t: f.a, id: f.aLti },
  }),
  'Mutation.deleteLtiRegistration': (f) => ({
    query: 'mutation($t: ID!, $id: ID!) { deleteLtiRegistration(tenant: $t, id: $id) }',
    variables: { t: f.a, id: f.aLti },
  }),
  'Query.webhooks': (f) => ({ query: 'query($t: ID!) { webhooks(tenant: $t) { items { id url } } }', variables: { t: f.a } }),
  'Mutation.createWebhook': (f) => ({
    query:
      'mutation($t: ID!) { createWebhook(tenant: $t, input: {url: "https://images.example.com/intruder", events: [vm_ready]}) { secret webhook { id } } }',
    variables: { t: f.a },
  }),
  'Query.webhookDeliveries': (f) => ({
    query: 'query($t: ID!, $id: ID!) { webhookDeliveries(tenant: $t, id: $id) { items { id eventId } } }',
    variables: { t: f.a, id: f.aWebhook },
  }),
  'Mutation.updateWebhook': (f) => ({
    query: 'mutation($t: ID!, $id: ID!) { updateWebhook(tenant: $t, id: $id, input: {url: "https://images.example.com/intruder"}) { id } }',
    variables: { t: f.a, id: f.aWebhook },
  }),
  'Mutation.rotateWebhookSecret': (f) => ({
    query: 'mutation($t: ID!, $id: ID!) { rotateWebhookSecret(tenant: $t, id: $id) { secret } }',
    variables: { t: f.a, id: f.aWebhook },
  }),
  'Mutation.pingWebhook': (f) => ({
    query: 'mutation($t: ID!, $id: ID!) { pingWebhook(tenant: $t, id: $id) { id } }',
    variables: { t: f.a, id: f.aWebhook },
  }),
  'Mutation.redeliverWebhookDelivery': (f) => ({
    query: 'mutation($t: ID!, $id: ID!, $d: ID!) { redeliverWebhookDelivery(tenant: $t, id: $id, deliveryId: $d) { id } }',
    variables: { t: f.a, id: f.aWebhook, d: f.aDelivery },
  }),
  'Mutation.deleteWebhook': (f) => ({
    query: 'mutation($t: ID!, $id: ID!) { deleteWebhook(tenant: $t, id: $id) }',
    variables: { t: f.a, id: f.aWebhook },
  }),
  'Query.lab': (f) => ({
    query: 'query($t: ID!, $n: ID!) { lab(tenant: $t, name: $n) { name instructors { id } students { items { id } } } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Query.labs': (f) => ({ query: 'query($t: ID!) { labs(tenant: $t) { items { name } } }', variables: { t: f.a } }),
  'Query.labUsage': (f) => ({
    query: 'query($t: ID!, $n: ID!) { labUsage(tenant: $t, lab: $n) { lab students { vm usedHours } } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Query.tenantUsage': (f) => ({ query: 'query($t: ID!) { tenantUsage(tenant: $t) { tenant labs { lab } } }', variables: { t: f.a } }),
  'Mutation.createLab': (f) => ({
    query:
      'mutation($t: ID!, $k: String!) { createLab(tenant: $t, input: {name: "intruder-lab", template: {image: {scope: platform, name: "ubuntu-24-04"}, instanceType: "small", diskGi: 10, storageClass: "kv-standard", sshPublicKeys: [$k]}}) { id } }',
    variables: { t: f.a, k: SSH_KEY },
  }),
  'Mutation.updateLab': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { updateLab(tenant: $t, name: $n, input: {displayName: "pwned"}) { name } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.deleteLab': (f) => ({ query: 'mutation($t: ID!, $n: ID!) { deleteLab(tenant: $t, name: $n) { id } }', variables: { t: f.a, n: f.aLab } }),
  'Mutation.syncLabRoster': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { syncLabRoster(tenant: $t, name: $n, students: []) { diff { removed } } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.syncLabFromLms': (f) => ({
    query: 'mutation($t: ID!, $n: ID!) { syncLabFromLms(tenant: $t, name: $n) { id } }',
    variables: { t: f.a, n: f.aLab },
  }),
  'Mutation.retryLabStudent': (f) => ({
    query: 'mutation($t: ID!, $n: ID!, $s: ID!) { retryLabStudent(tenant: $t, name: $n, student: $s) { id } }',
    variables: { t: f.a, n: f.aLab, s: ABSENT_STUDENT },
  }),
  'Mutation.addLabUsageHours': (f) => ({
    query: 'mutation($t: ID!, $n: ID!, $s: ID!) { addLabUsageHours(tenant: $t, lab: $n, student: $s, hours: 1) { addedHours } }',
    variables: { t: f.a, n: f.aLab, s: ABSENT_STUDENT },
  }),
};

const SSH_KEY = `ssh-ed25519 ${Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]).toString('base64')} iso@test`;
const LAB_TEMPLATE = {
  image: { scope: 'platform', name: 'ubuntu-24-04' },
  instanceType: 'small',
  diskGi: 10,
  storageClass: 'kv-standard',
  sshPublicKeys: [SSH_KEY],
};
/** A well-formed Azure AD object id on no roster. */
const ABSENT_STUDENT = '00000000-0000-4000-8000-0000000000aa';
const A_INSTRUCTOR = '00000000-0000-4000-8000-00000000a11a';
const contract = loadContract();
let t: TestApp;
let fx: Fixture;
let roles: Record<'ownerB' | 'memberB' | 'integrationB', string>;
let admin: string;

beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
  admin = await t.bearer({ sub: 'iso-admin', roles: ['platform-admin'] });
  const a = uniqueTenantId('iso-a');
  const aDeletable = uniqueTenantId('iso-a2');
  const aGone = uniqueTenantId('iso-a3');
  const b = uniqueTenantId('iso-b');
  for (const [id, owner] of [
    [a, 'owner-a'],
    [aDeletable, 'owner-a'],
    [aGone, 'owner-a'],
    [b, 'owner-b'],
  ] as const) {
    const res = await request(t.app.server)
      .post('/v1/tenants')
      .set('authorization', admin)
      .send({ id, displayName: `Tenant ${id}`, profile: 'student', owners: [{ principalId: owner }] });
    expect(res.status).toBe(201);
  }
  await request(t.app.server).put(`/v1/tenants/${a}/members/member-a`).set('authorization', admin).send({ role: 'member' });
  const op = await request(t.app.server).delete(`/v1/tenants/${aGone}`).set('authorization', admin);
  const aImage = `img-${a}`;
  const imported = await request(t.app.server)
    .post(`/v1/tenants/${a}/images`)
    .set('authorization', admin)
    .send({ name: aImage, source: { type: 'http', url: 'https://images.example.com/a.qcow2' }, sizeGi: 5 });
  expect(imported.status).toBe(202);
  const aVm = 'vm-a';
  const vm = await request(t.app.server)
    .post(`/v1/tenants/${a}/vms`)
    .set('authorization', admin)
    .send({
      name: aVm,
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      sshPublicKeys: [SSH_KEY],
      owner: 'member-a',
    });
  expect(vm.status).toBe(202);
  const aArcVm = 'vm-arc-a';
  const arcVm = await request(t.app.server)
    .post(`/v1/tenants/${a}/vms`)
    .set('authorization', admin)
    .send({
      name: aArcVm,
      image: { scope: 'platform', name: 'ubuntu-24-04' },
      instanceType: 'small',
      diskGi: 10,
      storageClass: 'kv-standard',
      sshPublicKeys: [SSH_KEY],
      owner: 'member-a',
      arc: true,
      running: false,
    });
  expect(arcVm.status).toBe(202);
  for (const name of [aVm, aArcVm]) {
    await eventually(
      async () => (await request(t.app.server).get(`/v1/tenants/${a}/vms/${name}`).set('authorization', admin)).status === 200,
      10_000,
      `VM ${name}`,
    );
  }
  const aSnapshot = 'snap-a';
  const snap = await request(t.app.server).post(`/v1/tenants/${a}/vms/${aVm}/snapshots`).set('authorization', admin).send({ name: aSnapshot });
  expect(snap.status).toBe(202);
  await eventually(
    async () =>
      (await request(t.app.server).get(`/v1/tenants/${a}/vms/${aVm}/snapshots/${aSnapshot}`).set('authorization', admin)).body.readyToUse === true,
    15_000,
    `snapshot ${aSnapshot}`,
  );
  const aLab = 'lab-a';
  // Not asserted here: the admin case of getLab proves the lab exists.
  await request(t.app.server)
    .post(`/v1/tenants/${a}/labs`)
    .set('authorization', admin)
    .send({ name: aLab, template: LAB_TEMPLATE, instructors: [{ id: A_INSTRUCTOR }] });
  const webhookOf = async (description: string): Promise<string> => {
    const res = await request(t.app.server)
      .post(`/v1/tenants/${a}/webhooks`)
      .set('authorization', admin)
      .send({ url: 'https://images.example.com/iso', events: ['vm.ready'], description });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const aWebhook = await webhookOf('kept');
  const aWebhookDeletable = await webhookOf('deleted by the admin case');
  const ping = await request(t.app.server).post(`/v1/tenants/${a}/webhooks/${aWebhook}/ping`).set('authorization', admin);
  expect(ping.status).toBe(202);
  const aDelivery = ping.body.id as string;
  const ltiOf = async (clientId: string): Promise<string> => {
    const res = await request(t.app.server)
      .post(`/v1/tenants/${a}/lti/registrations`)
      .set('authorization', admin)
      .send({
        issuer: 'https://lms-a.example.edu',
        clientId,
        deploymentIds: ['deployment-a'],
        authLoginUrl: 'https://lms-a.example.edu/auth',
        accessTokenUrl: 'https://lms-a.example.edu/token',
        jwksUrl: 'https://lms-a.example.edu/jwks',
      });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const aLti = await ltiOf('client-a-kept');
  const aLtiDeletable = await ltiOf('client-a-deleted');
  fx = {
    a,
    aDeletable,
    aImage,
    aOperation: op.body.id,
    aVm,
    aSnapshot,
    aArcVm,
    aWebhook,
    aWebhookDeletable,
    aDelivery,
    aLab,
    aLti,
    aLtiDeletable,
    secrets: [
      aLti,
      aLtiDeletable,
      'lms-a.example.edu',
      aWebhook,
      aWebhookDeletable,
      aDelivery,
      a,
      aDeletable,
      aGone,
      aImage,
      op.body.id,
      'owner-a',
      'member-a',
      vm.body.id,
      snap.body.id,
      aSnapshot,
      A_INSTRUCTOR,
    ],
  };
  roles = {
    ownerB: await t.bearer({ sub: 'owner-b' }),
    memberB: await t.bearer({ sub: 'member-b', tenants: { [b]: 'member' } }),
    integrationB: await t.bearer({ sub: 'lms-b', roles: ['labs.manage', 'vms.manage', 'read'], tenants: { [b]: 'owner' } }),
  };
});
afterAll(async () => {
  await t?.close();
});

/** The answer without the echo of the caller's own request (instance path, request id). */
function leakable(body: unknown): string {
  if (body === null || typeof body !== 'object') return String(body ?? '');
  const { instance: _i, requestId: _r, ...rest } = body as Record<string, unknown>;
  return JSON.stringify(rest);
}

describe('tenant isolation, route × role', () => {
  it('has a case for every operation of the contract', () => {
    expect(contract.operations.map((o) => o.operationId).filter((id) => !(id in REST_CASES))).toEqual([]);
  });

  it('has a case for every GraphQL query and mutation', () => {
    const schema = (t.app as unknown as { graphql: { schema: GraphQLSchema } }).graphql.schema;
    const fields = [
      ...Object.keys(schema.getQueryType()?.getFields() ?? {}).map((f) => `Query.${f}`),
      ...Object.keys(schema.getMutationType()?.getFields() ?? {}).map((f) => `Mutation.${f}`),
    ];
    expect(fields.filter((f) => !(f in GRAPHQL_CASES))).toEqual([]);
  });

  it('REST: foreign principals never succeed, get 404 on tenant-scoped routes, and never see tenant A ids; anonymous gets 401', async () => {
    const failures: string[] = [];
    for (const op of contract.operations) {
      const make = REST_CASES[op.operationId];
      if (make === undefined) continue;
      const call = make(fx);
      if (call === 'public') continue;
      for (const [role, token] of [...Object.entries(roles), ['anonymous', undefined]] as const) {
        let req = (request(t.app.server) as any)[call.method](call.url);
        if (token !== undefined) req = req.set('authorization', token);
        const res = call.body === undefined ? await req : await req.send(call.body);
        const where = `${role} ${call.method.toUpperCase()} ${call.url} → ${res.status}`;
        if (role === 'anonymous') {
          if (res.status !== 401) failures.push(`${where} (expected 401)`);
          continue;
        }
        if (call.scoped && res.status !== 404) failures.push(`${where} (expected 404)`);
        if (!call.scoped && res.status >= 200 && res.status < 300 && call.method !== 'get') failures.push(`${where} (a foreign write succeeded)`);
        if (!call.scoped && res.status === 404) failures.push(`${where} (platform routes refuse with 403, not 404)`);
        const text = leakable(res.body);
        // An id the caller sent may be echoed back ("tenant 'x' was not found"); any other is a leak.
        const sent = call.url + JSON.stringify(call.body ?? null);
        for (const s of fx.secrets) if (!sent.includes(s) && text.includes(s)) failures.push(`${where} leaks '${s}'`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it('GraphQL: foreign principals get NOT_FOUND/FORBIDDEN and never see tenant A ids', async () => {
    const failures: string[] = [];
    for (const [field, make] of Object.entries(GRAPHQL_CASES)) {
      for (const [role, token] of Object.entries(roles)) {
        const res = await request(t.app.server).post('/graphql').set('authorization', token).send(make(fx));
        const text = JSON.stringify(res.body.data ?? null);
        for (const s of fx.secrets) if (text.includes(s)) failures.push(`${role} ${field} leaks '${s}'`);
        const codes = (res.body.errors ?? []).map((e: any) => e.extensions?.code as string);
        const scoped = !['Query.me', 'Query.tenants', 'Query.images'].includes(field);
        if (scoped && !codes.some((c: string) => c.endsWith('_NOT_FOUND') || c === 'FORBIDDEN'))
          failures.push(`${role} ${field} → ${JSON.stringify(codes)} data ${text}`);
      }
    }
    expect(failures.join('\n')).toBe('');
  });

  it('every case reaches a real resource: a platform admin gets the expected answer', async () => {
    const failures: string[] = [];
    for (const op of contract.operations) {
      const call = REST_CASES[op.operationId]?.(fx);
      if (call === undefined || call === 'public') continue;
      const req = (request(t.app.server) as any)[call.method](call.url).set('authorization', admin);
      const res = call.body === undefined ? await req : await req.send(call.body);
      if (!call.adminOk.includes(res.status)) failures.push(`${op.operationId} ${call.url} → ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(failures.join('\n')).toBe('');
  });
});
