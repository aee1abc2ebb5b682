import { DeliveryTransportError, type WebhookSender } from '../../domain/webhooks/delivery.js';
import { postOnce } from '../net/webhook-sender.js';

/**
 * The address the simulated DNS gives routed hosts: public (the SSRF guard accepts it; the
 * documentation ranges 192.0.2.0/24 etc. it refuses) and never contacted: the simulated network
 * carries the connection to the local receiver instead.
 */
export const SIM_ROUTED_ADDRESS = '93.184.216.34';

/** `host=http://127.0.0.1:port`: deliveries to `host` reach a receiver on this machine. */
export interface SimWebhookRoute {
  /** Lower-case public-looking host name, e.g. `lms.example.edu`. */
  readonly host: string;
  /** `http://127.0.0.1:port` (a loopback origin). */
  readonly target: string;
}

/** Records for the simulated resolver, so the guard can vet the routed hosts like any other. */
export function simulatedRouteRecords(routes: readonly SimWebhookRoute[]): Record<string, readonly string[]> {
  return Object.fromEntries(routes.map((r) => [r.host, [SIM_ROUTED_ADDRESS]]));
}

/**
 * The embedded default's network for webhook deliveries (no internet, no real DNS): a URL whose
 * host is routed is delivered over plain http to the route's local receiver, with the URL's path,
 * query and Host header; every other host is unreachable. The URL has been vetted by the guard
 * beforehand, as with the real sender.
 */
export function createSimulatedWebhookNetwork(routes: readonly SimWebhookRoute[]): WebhookSender {
  const table = new Map(routes.map((r) => [r.host.toLowerCase(), new URL(r.target)]));
  return {
    send(d) {
      const target = table.get(d.url.hostname.toLowerCase());
      if (target === undefined) {
        return Promise.reject(
          new DeliveryTransportError(`'${d.url.hostname.slice(0, 100)}' is not reachable in the simulated network (no SIM_WEBHOOK_ROUTES entry)`),
        );
      }
      const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
      return postOnce(
        {
          protocol: 'http:',
          hostname: host,
          port: target.port === '' ? 80 : Number(target.port),
          path: `${d.url.pathname}${d.url.search}`,
          hostHeader: d.url.host,
          addresses: [host === 'localhost' ? '127.0.0.1' : host],
        },
        d,
      );
    },
  };
}
