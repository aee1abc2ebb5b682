import { describe, expect, it } from 'vitest';
import { createPlatformFetch } from '../../src/adapters/lti/platform-fetch.js';
import { createMemoryResolver } from '../../src/adapters/net/memory-resolver.js';
import type { DomainError } from '../../src/domain/shared/errors.js';

const resolver = createMemoryResolver({
  'lms.example.edu': ['10.0.0.5'],
  'rebind.example.edu': ['93.184.216.34', '127.0.0.1'],
  'metadata.example.edu': ['169.254.169.254'],
});
const guarded = createPlatformFetch({ resolver });

async function refusal(url: string): Promise<DomainError> {
  const err = await guarded(url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, url).toBeDefined();
  return err as DomainError;
}

describe('platform fetch guard (deployment)', () => {
  it.each([
    'http://lms.public.example.org/jwks',
    'https://127.0.0.1/jwks',
    'https://[::1]/jwks',
    'https://localhost/jwks',
    'https://lms.example.edu/jwks',
    'https://rebind.example.edu/jwks',
    'https://metadata.example.edu/latest',
    'https://169.254.169.254/latest',
    'https://2130706433/jwks',
    'https://user:pass@lms.public.example.org/jwks',
    'file:///etc/passwd',
  ])('refuses %s before connecting', async (url) => {
    const err = await refusal(url);
    expect(err.code).toBe('URL_NOT_ALLOWED');
  });

  it('reports a DNS failure as retryable, not as a pass', async () => {
    resolver.failNext();
    const err = await refusal('https://lms.public.example.org/jwks');
    expect(err.code).toBe('DNS_UNAVAILABLE');
  });

  it('needs a resolver unless private addresses are allowed', () => {
    expect(() => createPlatformFetch({})).toThrow(/resolver/);
    expect(() => createPlatformFetch({ allowPrivate: true })).not.toThrow();
  });
});
