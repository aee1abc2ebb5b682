import { ltiPagesModule, ltiStylesheetModule, type LtiPagesDeps } from '../api/lti/pages.js';
import { defineArea, type Platform } from './area.js';
import type { LabsExports } from './labs.js';
import type { VmsExports } from './vms.js';

/**
 * The pages an LTI launch lands on (learner VM page, instructor lab page). Until the launch area
 * provides its session store and roster sync (and takes over this wiring), no session exists:
 * every page asks to launch again from the course, and no action can run.
 */
export const ltiPagesArea = defineArea({
  name: 'ltiPages',
  needs: ['labs', 'vms'],
  async build(ctx: Pick<Platform, 'clock' | 'config'> & { readonly labs: LabsExports; readonly vms: Pick<VmsExports, 'service'> }) {
    const deps: LtiPagesDeps = {
      sessions: { get: async () => undefined },
      labs: ctx.labs.service,
      vms: ctx.vms.service,
      rosterSync: {
        start: () => Promise.reject(new Error('LTI roster sync is not wired in')),
      },
      clock: ctx.clock,
      frameAncestors: ctx.config.ltiFrameAncestors,
    };
    return { exports: {}, api: [ltiPagesModule(deps), ltiStylesheetModule()] };
  },
});
