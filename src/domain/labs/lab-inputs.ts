import type { AccessRole } from '../identity/access.js';
import type { ImageRef } from '../images/image.js';
import type { CourseRef, LabPerson, LabSchedule } from './lab.js';
import type { LabPhase } from './lab-view.js';
import type { LabCostControlsInput } from '../usage/cost-controls.js';

/** A lab template as callers give it (defaults: arc false, studentRole user, no SSH keys). */
export interface LabTemplateInput {
  readonly image: ImageRef;
  readonly instanceType?: string;
  readonly cpu?: number;
  readonly memoryGi?: number;
  readonly diskGi: number;
  readonly storageClass: string;
  readonly arc?: boolean;
  readonly studentRole?: AccessRole;
  readonly sshPublicKeys?: readonly string[];
}

/**
 * A person as callers give them: by directory object id (`id`), or by `email` alone, resolved
 * through the directory to exactly one user (else 422 `EMAIL_NOT_RESOLVED`).
 */
export type LabPersonInput = LabPerson | (Omit<LabPerson, 'id' | 'email'> & { readonly id?: undefined; readonly email: string });

export interface CreateLabInput {
  readonly name: string;
  readonly displayName?: string;
  readonly course?: CourseRef;
  readonly template: LabTemplateInput;
  readonly instructors?: readonly LabPersonInput[];
  readonly students?: readonly LabPersonInput[];
  readonly schedules?: readonly LabSchedule[];
  readonly endsAt?: string;
  /** Default 72. */
  readonly dropGracePeriodHours?: number;
  /** Default 14. */
  readonly endGracePeriodDays?: number;
  /** Absent parts take `DEFAULT_LAB_COST_CONTROLS` (Azure Lab Services' defaults). */
  readonly costControls?: LabCostControlsInput;
}

/** A PATCH: absent fields stay; `null` clears an optional one. The template applies to VMs made from now on. */
export interface UpdateLabInput {
  readonly displayName?: string | null;
  readonly course?: CourseRef | null;
  readonly template?: LabTemplateInput;
  readonly instructors?: readonly LabPersonInput[];
  readonly schedules?: readonly LabSchedule[];
  readonly endsAt?: string | null;
  readonly dropGracePeriodHours?: number;
  readonly endGracePeriodDays?: number;
  /** The given parts change; the others (and the hours instructors added) stay. */
  readonly costControls?: LabCostControlsInput;
}

export interface LabListFilter {
  readonly lms?: string;
  readonly courseId?: string;
  readonly phase?: LabPhase;
}
