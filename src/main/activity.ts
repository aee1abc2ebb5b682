import { auditModule, operationsModule } from '../api/modules/index.js';
import { createAuditService } from '../domain/audit/audit.js';
import { defineArea, type Platform } from './area.js';

/**
 * Activity: operations (every area's long-running work) and the audit log over the API, both kept
 * by the job runtime. (Not named `operations`: an area's exports sit beside the platform's fields.)
 */
export const activityArea = defineArea({
  name: 'activity',
  needs: [],
  async build(ctx: Pick<Platform, 'operations' | 'auditLog'>) {
    return { exports: {}, api: [operationsModule(ctx.operations), auditModule(createAuditService({ log: ctx.auditLog }))] };
  },
});
