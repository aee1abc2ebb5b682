import { authorize } from '../auth/policy.js';
import type { Principal } from '../auth/principal.js';
import type { ImageRef } from '../images/image.js';
import type { Operation } from '../operations/operation.js';
import type { OperationService } from '../operations/operation-service.js';
import { ConflictError, NotFoundError, ValidationError } from '../shared/errors.js';
import type { FieldIssue } from '../shared/errors.js';
import { DNS_LABEL } from '../shared/ids.js';
import type { TenantRepository } from '../tenants/tenant-repository.js';
import type { ReimageService } from '../vms/reimage-service.js';
import { reimageNeeds } from '../vms/reimage-service.js';
import { refuseOverQuota } from '../vms/vm-quota.js';
import { refuseIssues } from '../vms/vm-rules.js';
import type { VmRepository } from '../vms/vm-repository.js';
import type { CreateVmInput, VmService } from '../vms/vm-service.js';
import type { VmAccessPlan, VmView } from '../vms/vm.js';
import { labTargetId, type LabRecord } from './lab.js';
import type { LabRepository } from './lab-repository.js';
import { specOf } from './lab-service.js';
import { labVmsByStudent } from './lab-status.js';

/** Job kinds of a lab's reimage and of the publish of its template VM. */
export const LAB_REIMAGE_KIND = 'lab.reimage';
export const LAB_TEMPLATE_PUBLISH_KIND = 'lab.template-publish';

/**
 * The lab's template VM: deterministic, never a student's (student VMs are `<lab>-<10 hex>`), so
 * it is left out of the lab's students, summary, schedules, drops and usage, which all go by
 * student VM names. A DNS label of at most 49 characters (lab names have at most 40).
 */
export function labTemplateVmName(lab: string): string {
  return `${lab}-template`;
}

/**
 * Publishes a VM's root disk as a tenant image (`vm.publish`, the clone-and-publish use case): an
 * operation whose result names the image (`result.image.name`, a tenant image) and its `version`.
 */
export interface VmImagePublisher {
  publish(p: Principal, tenant: string, vm: string, input: { readonly image?: string }, options: { readonly parentId?: string }): Promise<Operation>;
}

export interface LabTemplateDeps {
  readonly labs: Pick<LabRepository, 'get' | 'update'>;
  readonly vmRepo: Pick<VmRepository, 'list'>;
  readonly vms: Pick<VmService, 'create' | 'get'>;
  readonly reimage: Pick<ReimageService, 'reimage'>;
  /** Usage with the tenant's snapshots counted. */
  readonly tenants: Pick<TenantRepository, 'get' | 'usage'>;
  readonly operations: Pick<OperationService, 'start'>;
  /** Absent until publishing VMs as images is available: publishing a template is refused with 409. */
  readonly publisher?: VmImagePublisher;
}

export interface CreateTemplateVmInput {
  /** The instructor who prepares it (an instructor of the lab); default the caller. */
  readonly owner?: string;
}

export interface PublishTemplateInput {
  /** The tenant image to publish to (a new version of it); default `<lab>-template`. */
  readonly image?: string;
}

/** A VM of the lab built from its template, running at once (a student's or the template VM). */
export function labVmInput(lab: LabRecord, name: string, owner: string): CreateVmInput {
  const t = lab.template;
  return {
    name,
    image: t.image,
    ...(t.instanceType === undefined ? { cpu: t.cpu, memoryGi: t.memoryGi } : { instanceType: t.instanceType }),
    diskGi: t.diskGi,
    storageClass: t.storageClass,
    sshPublicKeys: t.sshPublicKeys,
    owner,
    lab: lab.name,
    arc: t.arc,
    running: true,
  };
}

/** Who gets what on the template VM: its owner and every instructor `administrator`. */
export function templateAccessPlan(lab: LabRecord): VmAccessPlan {
  return { ownerRole: 'administrator', grants: lab.instructors.map((i) => ({ principalId: i.id, role: 'administrator' as const })) };
}

/** Who gets what on a student's VM: the student the lab's role, instructors `administrator`. */
export function studentAccessPlan(lab: LabRecord): VmAccessPlan {
  return { ownerRole: lab.template.studentRole, grants: lab.instructors.map((i) => ({ principalId: i.id, role: 'administrator' as const })) };
}

export type LabTemplateService = ReturnType<typeof createLabTemplateService>;

/**
 * The lab's template VM and reimaging its students (issue #16 item 5). An instructor (a tenant
 * owner: `lab.write`) creates the template VM from the lab's image, works in it and publishes it:
 * the lab's `template.image` becomes the new image version (students are not reprovisioned by
 * that: `reimage` rebuilds them, all or a list, through the lab's parallelism). Reading needs
 * `lab.read`; another tenant's lab is 404.
 */
export function createLabTemplateService(deps: LabTemplateDeps) {
  async function load(p: Principal, tenant: string, name: string, permission: 'lab.read' | 'lab.write'): Promise<LabRecord> {
    authorize(p, permission, { tenant });
    if ((await deps.tenants.get(tenant)) === undefined) throw new NotFoundError('tenant', tenant);
    const lab = await deps.labs.get(tenant, name);
    if (lab === undefined) throw new NotFoundError('lab', name);
    return lab;
  }

  function refuseDeleting(lab: LabRecord): void {
    if (lab.status.deletionRequestedAt !== undefined || lab.deleting) throw new ConflictError('LAB_DELETING', `Lab '${lab.name}' is being deleted.`);
  }

  async function templateVm(p: Principal, lab: LabRecord): Promise<VmView> {
    try {
      return await deps.vms.get(p, lab.tenant, labTemplateVmName(lab.name));
    } catch (err) {
      if (err instanceof NotFoundError && err.code === 'VM_NOT_FOUND') throw new NotFoundError('template_vm', lab.name);
      throw err;
    }
  }

  return {
    /** Creates the lab's template VM (`vm.create`) from the lab's template, running. 409 `TEMPLATE_VM_EXISTS` when it has one. */
    async createTemplateVm(p: Principal, tenant: string, name: string, input: CreateTemplateVmInput = {}): Promise<Operation> {
      const lab = await load(p, tenant, name, 'lab.write');
      refuseDeleting(lab);
      const owner = input.owner === undefined ? p.id : input.owner.toLowerCase();
      if (input.owner !== undefined && owner !== p.id && !lab.instructors.some((i) => i.id === owner)) {
        throw new ValidationError('The template VM is not acceptable.', [
          { field: '/owner', message: 'must be the caller or an instructor of the lab' },
        ]);
      }
      const vmName = labTemplateVmName(name);
      try {
        return await deps.vms.create(p, tenant, labVmInput(lab, vmName, owner), { access: templateAccessPlan(lab) });
      } catch (err) {
        if (err instanceof ConflictError && err.code === 'VM_EXISTS')
          throw new ConflictError('TEMPLATE_VM_EXISTS', `Lab '${name}' already has a template VM ('${vmName}').`, { details: { vm: vmName } });
        throw err;
      }
    },

    /** The lab's template VM; 404 `TEMPLATE_VM_NOT_FOUND` when it has none. */
    async getTemplateVm(p: Principal, tenant: string, name: string): Promise<VmView> {
      return templateVm(p, await load(p, tenant, name, 'lab.read'));
    },

    /**
     * Publishes the template VM as a tenant image (`lab.template-publish`, with a `vm.publish`
     * child): once published, the lab's `template.image` names the new image version and the
     * `lab.template-published` event is sent. 409 `IMAGE_PUBLISH_NOT_AVAILABLE` where VMs cannot be
     * published as images.
     */
    async publishTemplate(p: Principal, tenant: string, name: string, input: PublishTemplateInput = {}): Promise<Operation> {
      const lab = await load(p, tenant, name, 'lab.write');
      refuseDeleting(lab);
      const issues: FieldIssue[] =
        input.image === undefined || (DNS_LABEL.test(input.image) && input.image.length <= 63)
          ? []
          : [{ field: '/image', message: 'must be a DNS label of at most 63 characters' }];
      refuseIssues('The publish is not acceptable.', issues);
      const vm = await templateVm(p, lab);
      if (deps.publisher === undefined) {
        throw new ConflictError(
          'IMAGE_PUBLISH_NOT_AVAILABLE',
          'Publishing a VM as an image is not available on this platform, so the template VM cannot be published yet.',
        );
      }
      return deps.operations.start(p, {
        kind: LAB_TEMPLATE_PUBLISH_KIND,
        tenant,
        target: { type: 'lab', id: labTargetId(tenant, name), name },
        input: { tenant, lab: name, vm: vm.name, image: input.image ?? labTemplateVmName(name) },
      });
    },

    /**
     * Points the lab's template at a published image (the publish job calls it once the image is
     * there). A spec change: students are not reprovisioned; `reimage` rebuilds them.
     */
    async adoptTemplateImage(tenant: string, name: string, image: ImageRef): Promise<LabRecord> {
      const lab = await deps.labs.get(tenant, name);
      if (lab === undefined) throw new NotFoundError('lab', name);
      if (lab.template.image.scope === image.scope && lab.template.image.name === image.name) return lab;
      return deps.labs.update(
        tenant,
        name,
        { ...specOf(lab), template: { ...lab.template, image: { scope: image.scope, name: image.name } } },
        lab.version,
      );
    },

    /**
     * Rebuilds student VMs from the lab's current template image (`lab.reimage`: one `vm.reimage`
     * child per student VM, at most the lab parallelism at once). `students` (object ids of the
     * roster) limits it; every roster student with a VM when absent. 400 for a student not on the
     * roster or without a VM, 409 `IMAGE_NOT_READY`, `QUOTA_EXCEEDED` when not even one new disk
     * fits beside the old ones.
     */
    async reimageLab(p: Principal, tenantId: string, name: string, input: { readonly students?: readonly string[] } = {}): Promise<Operation> {
      const lab = await load(p, tenantId, name, 'lab.write');
      refuseDeleting(lab);
      const byStudent = labVmsByStudent(lab, await deps.vmRepo.list(tenantId));
      const roster = new Set(lab.students.map((s) => s.id));
      const issues: FieldIssue[] = [];
      const asked = input.students?.map((s) => s.toLowerCase());
      asked?.forEach((s, i) => {
        if (!roster.has(s)) issues.push({ field: `/students/${i}`, message: 'is not a student of the lab' });
        else if (byStudent.get(s) === undefined) issues.push({ field: `/students/${i}`, message: 'has no VM yet' });
      });
      if (input.students !== undefined && input.students.length === 0)
        issues.push({ field: '/students', message: 'give at least one student, or leave it out for all' });
      refuseIssues('The reimage is not acceptable.', issues);
      const students = [...new Set(asked ?? lab.students.map((s) => s.id).filter((s) => byStudent.has(s)))].sort();
      const tenant = await deps.tenants.get(tenantId);
      if (tenant === undefined) throw new NotFoundError('tenant', tenantId);
      if (students.length > 0) {
        refuseOverQuota(reimageNeeds(lab.template.diskGi), tenant.quota, await deps.tenants.usage(tenantId), `The new disks of lab '${name}'`);
      }
      return deps.operations.start(p, {
        kind: LAB_REIMAGE_KIND,
        tenant: tenantId,
        target: { type: 'lab', id: labTargetId(tenantId, name), name },
        input: { tenant: tenantId, lab: name, image: { ...lab.template.image }, students },
      });
    },

    /** For the lab reimage job: starts one student's `vm.reimage` from the lab's template image. */
    reimageStudent(p: Principal, lab: LabRecord, vm: string, parentId: string): Promise<Operation> {
      return deps.reimage.reimage(
        p,
        lab.tenant,
        vm,
        { image: lab.template.image, sshPublicKeys: lab.template.sshPublicKeys },
        { parentId, access: studentAccessPlan(lab) },
      );
    },
  };
}
