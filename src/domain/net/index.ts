export type { HostResolver } from './host-resolver.js';
export {
  checkOutboundUrl,
  MAX_OUTBOUND_URL_LENGTH,
  OUTBOUND_SCHEMES,
  type OutboundPolicy,
  type OutboundScheme,
  type OutboundUrlOptions,
  type VettedUrl,
} from './outbound-url.js';
export { classifyAddress, type ForbiddenAddress } from './ip-ranges.js';
export { formatIp, parseIpLiteral } from './ip-address.js';
export { URL_NOT_ALLOWED } from './url-refusal.js';
