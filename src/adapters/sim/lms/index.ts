export { demoCourses, type SimCourse, type SimMember, type SimMemberStatus, type SimResourceLink } from './data.js';
export { simLmsPlugin, type SimLmsPluginOptions } from './plugin.js';
export {
  createSimLms,
  seedSimLmsRegistration,
  SIM_LMS_CLIENT_ID,
  SIM_LMS_DEPLOYMENT_ID,
  SIM_LMS_PATH,
  SimLmsRefusal,
  type SimLms,
  type SimLmsFault,
  type SimLmsOptions,
  type ToolConfig,
} from './sim-lms.js';
