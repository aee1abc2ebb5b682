import { ltiPagesModule, ltiStylesheetModule, type LtiPagesDeps } from '../api/lti/pages.js';
import { defineArea, type Platform } from './area.js';
import type { LabsExports } from './labs.js';
import type { VmsExports } from './vms.js';

/** Who may frame the LTI pages until the launch's setting (LTI_FRAME_ANCESTORS) is wired in. */
const DEFAULT_FRAME_ANCESTORS = '*';

/**
 * The pages an LTI launch lands on (learner VM page, instructor lab page); "Sync roster now" starts
 * the labs area's LMS roster sync. Until the launch area provides its session store (and takes over
 * this wiring), no session exists:
 * every page asks to launch again from the course, and no action can run.
 */
export const ltiPagesArea = defineArea({
  name: 'ltiPages',
  needs: ['labs', 'vms'],
  async build(ctx: Pick<Platform, 'clock'> & { readonly labs: LabsExports; readonly vms: Pick<VmsExports, 'service'> }) {
    const deps: LtiPagesDeps = {
      sessions: { get: async () => undefined },
      labs: ctx.labs.service,
      vms: ctx.vms.service,
      rosterSync: ctx.labs.ltiRosterSync,
      clock: ctx.clock,
      frameAncestors: DEFAULT_FRAME_ANCESTORS,
    };
    return { exports: {}, api: [ltiPagesModule(deps), ltiStylesheetModule()] };
  },
});
