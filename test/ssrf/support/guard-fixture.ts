import { expect } from 'vitest';
import { createMemoryResolver, type MemoryResolver } from '../../../src/adapters/net/memory-resolver.js';
import type { OutboundPolicy } from '../../../src/domain/net/outbound-url.js';
import { UnprocessableError } from '../../../src/domain/shared/errors.js';

/** Image-import policy: every scheme, plain http only for the admin's mirror. */
export const IMPORT_POLICY: OutboundPolicy = {
  allowedSchemes: ['https', 'http', 'docker', 's3'],
  httpAllowedHosts: ['mirror.example.org', '93.184.216.34'],
};

/** Webhook policy: https only. */
export const WEBHOOK_POLICY: OutboundPolicy = { allowedSchemes: ['https'], httpAllowedHosts: [] };

/** A fake DNS: public names, names that point inside, and a rebinding-style mixed answer. */
export function makeResolver(): MemoryResolver {
  return createMemoryResolver({
    'example.com': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
    'images.example.org': ['151.101.1.1'],
    'mirror.example.org': ['151.101.65.1'],
    'quay.io': ['3.224.9.1'],
    'ghcr.io': ['140.82.112.33'],
    'registry.example.com': ['34.120.1.2'],
    'registry-1.docker.io': ['54.236.113.205'],
    's3.amazonaws.com': ['52.216.1.2'],
    'minio.example.edu': ['129.97.1.2'],
    'to-loopback.example.net': ['127.0.0.1'],
    'to-metadata.example.net': ['169.254.169.254'],
    'to-wireserver.example.net': ['168.63.129.16'],
    'to-private.example.net': ['10.1.2.3'],
    'to-v6-loopback.example.net': ['::1'],
    'to-mapped.example.net': ['::ffff:169.254.169.254'],
    'to-ula.example.net': ['fd00::5'],
    'rebind.example.net': ['93.184.216.34', '192.168.0.10'],
    'rebind6.example.net': ['93.184.216.34', 'fe80::1'],
    '127.0.0.1.nip.io': ['127.0.0.1'],
    'garbage-answer.example.net': ['not-an-ip'],
    'registry-private.example.net': ['172.20.0.5'],
    'minio-private.example.net': ['192.168.50.2'],
  });
}

/** Awaits a refusal by the guard and returns its reason. */
export async function refusalReason(promise: Promise<unknown>): Promise<string> {
  const err: unknown = await promise.then(
    () => new Error('expected the URL to be refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UnprocessableError);
  const e = err as UnprocessableError;
  expect(e.code).toBe('URL_NOT_ALLOWED');
  const reason = e.details?.['reason'];
  expect(typeof reason).toBe('string');
  return String(reason);
}
