import type { AuditService } from '../../domain/audit/audit.js';
import type { ImageService } from '../../domain/images/image-service.js';
import type { LtiRosterSyncService } from '../../domain/lti/roster-sync.js';
import type { LabService } from '../../domain/labs/lab-service.js';
import type { LtiRegistrationService } from '../../domain/lti/registration-service.js';
import type { OperationService } from '../../domain/operations/operation-service.js';
import type { TenantService } from '../../domain/tenants/tenant-service.js';
import type { UsageService } from '../../domain/usage/usage-service.js';
import type { NodeService } from '../../domain/vms/node-service.js';
import type { VmAccessService } from '../../domain/vms/vm-access.js';
import type { SnapshotService } from '../../domain/vms/snapshot-service.js';
import type { VmCopyService } from '../../domain/vms/vm-copy-service.js';
import type { ReimageService } from '../../domain/vms/reimage-service.js';
import type { LabTemplateService } from '../../domain/labs/lab-template.js';
import type { VmService } from '../../domain/vms/vm-service.js';
import type { WebhookService } from '../../domain/webhooks/webhook-service.js';
import type { AutoShutdownViews } from '../../domain/usage/vm-cost-controls.js';
import { imageResolvers, imageTypeDefs } from '../graphql/images.js';
import { labResolvers, labTypeDefs } from '../graphql/labs.js';
import { ltiResolvers, ltiTypeDefs } from '../graphql/lti.js';
import { operationResolvers, operationTypeDefs } from '../graphql/operations.js';
import { tenantResolvers } from '../graphql/resolvers.js';
import { tenantTypeDefs } from '../graphql/schema.js';
import { reimageResolvers, reimageTypeDefs } from '../graphql/reimage.js';
import { snapshotResolvers, snapshotTypeDefs } from '../graphql/snapshots.js';
import { vmCopyResolvers, vmCopyTypeDefs } from '../graphql/vm-copies.js';
import { vmAccessResolvers, vmAccessTypeDefs } from '../graphql/vm-access.js';
import { vmLoaders, vmResolvers, vmTypeDefs } from '../graphql/vms.js';
import { usageResolvers, usageTypeDefs } from '../graphql/usage.js';
import { webhookResolvers, webhookTypeDefs } from '../graphql/webhooks.js';
import type { ApiModule } from '../module.js';
import { auditHandlers } from '../rest/audit.js';
import { imageHandlers } from '../rest/images.js';
import { labHandlers } from '../rest/labs.js';
import { ltiHandlers } from '../rest/lti.js';
import { operationHandlers } from '../rest/operations.js';
import { tenantHandlers } from '../rest/tenants.js';
import { reimageHandlers } from '../rest/reimage.js';
import { snapshotHandlers } from '../rest/snapshots.js';
import { vmCopyHandlers } from '../rest/vm-copies.js';
import { vmAccessHandlers } from '../rest/vm-access.js';
import { vmHandlers } from '../rest/vms.js';
import { usageHandlers } from '../rest/usage.js';
import { webhookHandlers } from '../rest/webhooks.js';
import type { ConsoleService } from '../../domain/vms/console.js';
import { consoleResolvers, consoleTypeDefs } from '../graphql/console.js';
import { consoleHandlers } from '../rest/console.js';

export function tenantsModule(tenants: TenantService): ApiModule {
  return { name: 'tenants', handlers: tenantHandlers(tenants), graphql: { typeDefs: tenantTypeDefs, resolvers: tenantResolvers({ tenants }) } };
}

export function operationsModule(operations: OperationService): ApiModule {
  return {
    name: 'operations',
    handlers: operationHandlers(operations),
    graphql: { typeDefs: operationTypeDefs, resolvers: operationResolvers(operations) },
  };
}

export function auditModule(audit: AuditService): ApiModule {
  return { name: 'audit', handlers: auditHandlers(audit) };
}

export function imagesModule(images: ImageService): ApiModule {
  return { name: 'images', handlers: imageHandlers(images), graphql: { typeDefs: imageTypeDefs, resolvers: imageResolvers(images) } };
}

/**
 * VMs, instance types and nodes; `Vm.image` is loaded through the image use cases (needs the images
 * module's types), `Vm.autoShutdown` from the idle detector's state.
 */
export function vmsModule(vms: VmService, nodes: NodeService, images: Pick<ImageService, 'get'>, autoShutdown?: AutoShutdownViews): ApiModule {
  return {
    name: 'vms',
    handlers: vmHandlers(vms, nodes, autoShutdown),
    graphql: {
      typeDefs: vmTypeDefs,
      resolvers: vmResolvers({ vms, nodes }),
      loaders: vmLoaders({ images, ...(autoShutdown === undefined ? {} : { autoShutdown }) }),
    },
  };
}

/** Snapshots of VMs and restores from them (uses the operations module's types). */
export function snapshotsModule(snapshots: SnapshotService): ApiModule {
  return {
    name: 'snapshots',
    handlers: snapshotHandlers(snapshots),
    graphql: { typeDefs: snapshotTypeDefs, resolvers: snapshotResolvers(snapshots) },
  };
}

/** Clones of VMs and VMs published as tenant images (uses the operations module's types). */
export function vmCopiesModule(copies: VmCopyService): ApiModule {
  return { name: 'vm-copies', handlers: vmCopyHandlers(copies), graphql: { typeDefs: vmCopyTypeDefs, resolvers: vmCopyResolvers(copies) } };
}

/** VM and lab reimages and labs' template VMs (uses the operations, vms and images modules' types). */
export function reimageModule(reimage: ReimageService, templates: LabTemplateService): ApiModule {
  return {
    name: 'reimage',
    handlers: reimageHandlers(reimage, templates),
    graphql: { typeDefs: reimageTypeDefs, resolvers: reimageResolvers(reimage, templates) },
  };
}

/** Access grants on VMs (Azure AD SSH login through role assignments on their Arc machines; uses the vms module's types). */
export function vmAccessModule(access: VmAccessService): ApiModule {
  return { name: 'vm-access', handlers: vmAccessHandlers(access), graphql: { typeDefs: vmAccessTypeDefs, resolvers: vmAccessResolvers(access) } };
}

/** Course labs and their rosters, synced by hand or from an LMS course (uses the operations, vms and vm-access modules' types). */
export function labsModule(service: LabService, lti: Pick<LtiRosterSyncService, 'syncFromLms'>): ApiModule {
  return { name: 'labs', handlers: labHandlers(service, lti), graphql: { typeDefs: labTypeDefs, resolvers: labResolvers(service, lti) } };
}

/** Tenant webhooks: registration (the signing secret shown once) and delivery records. */
export function webhooksModule(webhooks: WebhookService): ApiModule {
  return { name: 'webhooks', handlers: webhookHandlers(webhooks), graphql: { typeDefs: webhookTypeDefs, resolvers: webhookResolvers(webhooks) } };
}

/** LTI 1.3: platform registrations of a tenant, the tool configuration, the tool's public keys and their rotation. */
export function ltiModule(lti: LtiRegistrationService, publicUrl: string | undefined): ApiModule {
  return { name: 'lti', handlers: ltiHandlers(lti, publicUrl), graphql: { typeDefs: ltiTypeDefs, resolvers: ltiResolvers(lti) } };
}

/** Usage reports of labs (JSON or CSV) and the tenant's usage summary. */
export function usageModule(usage: UsageService): ApiModule {
  return { name: 'usage', handlers: usageHandlers(usage), graphql: { typeDefs: usageTypeDefs, resolvers: usageResolvers(usage) } };
}

/** Console tickets of VMs (the websocket proxy and pages are routes of their own: src/api/console). */
export function consoleModule(consoles: ConsoleService, publicUrl: string | undefined): ApiModule {
  return {
    name: 'console',
    handlers: consoleHandlers(consoles, publicUrl),
    graphql: { typeDefs: consoleTypeDefs, resolvers: consoleResolvers(consoles, publicUrl) },
  };
}
