import { ltiPagesModule, ltiStylesheetModule, type LtiPagesDeps } from '../api/lti/pages.js';
import { defineArea, type Platform } from './area.js';
import type { ImagesExports } from './images.js';
import type { LabsExports } from './labs.js';
import { buildLtiLaunch } from './lti-launch.js';
import type { LtiExports } from './lti.js';
import type { VmsExports } from './vms.js';

/**
 * The LTI launch (login initiation, launch, Deep Linking) and the pages it lands on (learner VM
 * page, instructor lab page), sharing one session store: on Redis with REDIS_URL, else in memory.
 * "Sync roster now" and an instructor's launch start the labs area's LMS roster sync.
 */
export const ltiPagesArea = defineArea({
  name: 'ltiPages',
  needs: ['labs', 'vms', 'lti', 'images'],
  async build(
    ctx: Pick<Platform, 'clock' | 'config' | 'logger' | 'world' | 'auditLog' | 'redis'> & {
      readonly labs: LabsExports;
      readonly vms: Pick<VmsExports, 'service'>;
      readonly lti: Pick<LtiExports, 'registrations' | 'toolKeys'>;
      readonly images: Pick<ImagesExports, 'service'>;
    },
  ) {
    const launch = await buildLtiLaunch({
      config: ctx.config,
      logger: ctx.logger,
      clock: ctx.clock,
      redis: ctx.redis,
      fetch: ctx.world.lms.platformFetch,
      registrations: ctx.lti.registrations,
      toolKeys: ctx.lti.toolKeys,
      directory: ctx.world.lms.directory,
      rosterSync: ctx.labs.ltiRosterSync,
      labRepo: ctx.labs.repo,
      labs: ctx.labs.service,
      images: ctx.images.service,
      auditLog: ctx.auditLog,
    });
    const deps: LtiPagesDeps = {
      sessions: launch.stores.sessions,
      labs: ctx.labs.service,
      vms: ctx.vms.service,
      rosterSync: ctx.labs.ltiRosterSync,
      clock: ctx.clock,
      frameAncestors: ctx.config.ltiFrameAncestors,
    };
    return { exports: {}, api: [launch.module, ltiPagesModule(deps), ltiStylesheetModule()] };
  },
});
