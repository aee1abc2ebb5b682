/** The websocket of a console: `GET /v1/console/{ticket}`, upgraded. The ticket is the credential. */
export const CONSOLE_SOCKET_PREFIX = '/v1/console/';

/**
 * A URL with the ticket of a console socket path replaced, for logs and traces (the ticket is a
 * credential; it is single use and short-lived, but still never written down).
 */
export function redactConsolePath(url: string): string {
  return url.startsWith(CONSOLE_SOCKET_PREFIX) ? `${CONSOLE_SOCKET_PREFIX}[redacted]` : url;
}
