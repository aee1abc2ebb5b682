import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsResolver } from '../../src/adapters/net/dns-resolver.js';
import { checkOutboundUrl } from '../../src/domain/net/outbound-url.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { startFakeDns, type FakeDnsServer } from './support/fake-dns-server.js';
import { IMPORT_POLICY, refusalReason } from './support/guard-fixture.js';

let dns: FakeDnsServer;

beforeAll(async () => {
  dns = await startFakeDns({
    'dual.dnsfake.net': { A: ['93.184.216.34', '151.101.1.1'], AAAA: ['2606:2800:220:1:248:1893:25c8:1946'] },
    'v4only.dnsfake.net': { A: ['151.101.65.1'] },
    'rebind.dnsfake.net': { A: ['93.184.216.34'], AAAA: ['::1'] },
    'broken.dnsfake.net': 'servfail',
    'slow.dnsfake.net': 'silent',
    'half.dnsfake.net': { A: ['93.184.216.34'] },
  });
});
afterAll(async () => {
  await dns.close();
});

const resolver = (timeoutMs = 1000) => createDnsResolver({ servers: [dns.address], timeoutMs, tries: 1 });

describe('node:dns resolver adapter (against a local fake DNS server)', () => {
  it('returns every A and AAAA record', async () => {
    const addresses = await resolver().resolve('dual.dnsfake.net');
    expect([...addresses].sort()).toEqual(['151.101.1.1', '2606:2800:220:1:248:1893:25c8:1946', '93.184.216.34']);
    expect(
      dns.queries
        .filter((q) => q.name === 'dual.dnsfake.net')
        .map((q) => q.type)
        .sort(),
    ).toEqual([1, 28]);
  });

  it('answers a name with only A records with those, and a missing name with no addresses', async () => {
    expect(await resolver().resolve('v4only.dnsfake.net')).toEqual(['151.101.65.1']);
    expect(await resolver().resolve('missing.dnsfake.net')).toEqual([]);
  });

  it('throws UpstreamUnavailable on SERVFAIL rather than passing the name', async () => {
    const err: unknown = await resolver()
      .resolve('broken.dnsfake.net')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).code).toBe('DNS_UNAVAILABLE');
  });

  it('gives up on a silent server within its time budget', async () => {
    const started = performance.now();
    const err: unknown = await resolver(300)
      .resolve('slow.dnsfake.net')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('lets the guard refuse a name whose AAAA record is loopback while its A record is public', async () => {
    expect(await refusalReason(checkOutboundUrl('https://rebind.dnsfake.net/x', IMPORT_POLICY, resolver()))).toMatch(/::1/);
    const ok = await checkOutboundUrl('https://dual.dnsfake.net/x', IMPORT_POLICY, resolver());
    expect(ok.addresses).toHaveLength(3);
  });
});
