import { createHmac, randomBytes } from 'node:crypto';

/** Prefix of every signing secret (Standard Webhooks). */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Random bytes in a new signing secret (the spec asks for 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32;

/** A new signing secret: `whsec_` and the base64 of 32 random bytes. */
export function newWebhookSecret(random: (n: number) => Buffer = randomBytes): string {
  return `${WEBHOOK_SECRET_PREFIX}${random(WEBHOOK_SECRET_BYTES).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) throw new TypeError('a webhook secret starts with whsec_');
  const key = Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64');
  if (key.length < 24) throw new TypeError('a webhook secret holds at least 24 bytes');
  return key;
}

/**
 * The `webhook-signature` value of a message: `v1,` and the base64 HMAC-SHA256, keyed with the
 * secret's bytes, over `${id}.${timestampSeconds}.${body}` (Standard Webhooks, symmetric).
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`, 'utf8').digest('base64');
  return `v1,${mac}`;
}

/**
 * Headers of one delivery attempt. `id` stays the same on every retry of a message (receivers
 * dedupe on it); the timestamp is the attempt's, in unix seconds. With several secrets (a rotation's
 * overlap: the new one first) `webhook-signature` carries one `v1,<sig>` per secret, space-separated,
 * as Standard Webhooks allows: a receiver holding either secret verifies the delivery.
 */
export function webhookHeaders(secrets: string | readonly string[], id: string, at: Date, body: string): Record<string, string> {
  const timestamp = Math.floor(at.getTime() / 1000);
  const keys = typeof secrets === 'string' ? [secrets] : secrets;
  if (keys.length === 0) throw new TypeError('a delivery is signed with at least one secret');
  return {
    'content-type': 'application/json',
    'user-agent': 'labplane-webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': keys.map((k) => signWebhook(k, id, timestamp, body)).join(' '),
  };
}
