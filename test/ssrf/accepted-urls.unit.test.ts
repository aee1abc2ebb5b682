import { describe, expect, it } from 'vitest';
import { checkOutboundUrl } from '../../src/domain/net/outbound-url.js';
import { UpstreamUnavailableError } from '../../src/domain/shared/errors.js';
import { IMPORT_POLICY, makeResolver, refusalReason, WEBHOOK_POLICY } from './support/guard-fixture.js';

interface Good {
  readonly url: string;
  readonly href: string;
  readonly host: string;
  readonly port: number;
  readonly addresses: readonly string[];
}

const GOOD: Good[] = [
  {
    url: 'https://example.com/images/disk.img',
    href: 'https://example.com/images/disk.img',
    host: 'example.com',
    port: 443,
    addresses: ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  },
  {
    url: 'HTTPS://Images.Example.ORG:8443/disk.qcow2?sig=abc&se=2030',
    href: 'https://images.example.org:8443/disk.qcow2?sig=abc&se=2030',
    host: 'images.example.org',
    port: 8443,
    addresses: ['151.101.1.1'],
  },
  { url: 'https://93.184.216.34/disk.img', href: 'https://93.184.216.34/disk.img', host: '93.184.216.34', port: 443, addresses: ['93.184.216.34'] },
  { url: 'https://8.8.8.8/x', href: 'https://8.8.8.8/x', host: '8.8.8.8', port: 443, addresses: ['8.8.8.8'] },
  { url: 'https://1.1.1.1:443/x', href: 'https://1.1.1.1/x', host: '1.1.1.1', port: 443, addresses: ['1.1.1.1'] },
  {
    url: 'https://[2606:2800:220:1:248:1893:25c8:1946]/x',
    href: 'https://[2606:2800:220:1:248:1893:25c8:1946]/x',
    host: '[2606:2800:220:1:248:1893:25c8:1946]',
    port: 443,
    addresses: ['2606:2800:220:1:248:1893:25c8:1946'],
  },
  {
    url: 'https://[2001:4860:4860:0:0:0:0:8888]/x',
    href: 'https://[2001:4860:4860::8888]/x',
    host: '[2001:4860:4860::8888]',
    port: 443,
    addresses: ['2001:4860:4860::8888'],
  },
  {
    url: 'https://[64:ff9b::808:808]/x',
    href: 'https://[64:ff9b::808:808]/x',
    host: '[64:ff9b::808:808]',
    port: 443,
    addresses: ['64:ff9b::808:808'],
  },
  {
    url: 'http://mirror.example.org/disk.img',
    href: 'http://mirror.example.org/disk.img',
    host: 'mirror.example.org',
    port: 80,
    addresses: ['151.101.65.1'],
  },
  {
    url: 'http://93.184.216.34:8080/disk.img',
    href: 'http://93.184.216.34:8080/disk.img',
    host: '93.184.216.34',
    port: 8080,
    addresses: ['93.184.216.34'],
  },
  {
    url: 'docker://ubuntu:22.04',
    href: 'docker://docker.io/library/ubuntu:22.04',
    host: 'registry-1.docker.io',
    port: 443,
    addresses: ['54.236.113.205'],
  },
  {
    url: 'docker://kubevirt/fedora-cloud-container-disk-demo',
    href: 'docker://docker.io/kubevirt/fedora-cloud-container-disk-demo',
    host: 'registry-1.docker.io',
    port: 443,
    addresses: ['54.236.113.205'],
  },
  {
    url: 'docker://quay.io/containerdisks/fedora:40',
    href: 'docker://quay.io/containerdisks/fedora:40',
    host: 'quay.io',
    port: 443,
    addresses: ['3.224.9.1'],
  },
  {
    url: `docker://registry.example.com:5000/org/team/image@sha256:${'a'.repeat(64)}`,
    href: `docker://registry.example.com:5000/org/team/image@sha256:${'a'.repeat(64)}`,
    host: 'registry.example.com',
    port: 5000,
    addresses: ['34.120.1.2'],
  },
  { url: 'docker://GHCR.io/org/img:v1.2.3', href: 'docker://ghcr.io/org/img:v1.2.3', host: 'ghcr.io', port: 443, addresses: ['140.82.112.33'] },
  {
    url: 'docker://93.184.216.34:5000/img:1',
    href: 'docker://93.184.216.34:5000/img:1',
    host: '93.184.216.34',
    port: 5000,
    addresses: ['93.184.216.34'],
  },
  {
    url: 'docker://docker.io/ubuntu',
    href: 'docker://docker.io/library/ubuntu',
    host: 'registry-1.docker.io',
    port: 443,
    addresses: ['54.236.113.205'],
  },
  {
    url: 'docker://[2606:2800:220:1:248:1893:25c8:1946]:5000/img:1',
    href: 'docker://[2606:2800:220:1:248:1893:25c8:1946]:5000/img:1',
    host: '[2606:2800:220:1:248:1893:25c8:1946]',
    port: 5000,
    addresses: ['2606:2800:220:1:248:1893:25c8:1946'],
  },
  { url: 's3://my-bucket/images/disk.img', href: 's3://my-bucket/images/disk.img', host: 's3.amazonaws.com', port: 443, addresses: ['52.216.1.2'] },
];

describe('outbound URL guard: acceptable URLs', () => {
  it.each(GOOD)('accepts $url', async (g) => {
    const resolver = makeResolver();
    const v = await checkOutboundUrl(g.url, IMPORT_POLICY, resolver);
    expect(v.url.href).toBe(g.href);
    expect(v.host).toBe(g.host);
    expect(v.port).toBe(g.port);
    expect(v.addresses).toEqual(g.addresses);
  });

  it('accepts an s3 URL with a public endpoint and returns the vetted endpoint', async () => {
    const v = await checkOutboundUrl('s3://lab-images/fedora.qcow2', IMPORT_POLICY, makeResolver(), {
      s3Endpoint: 'https://minio.example.edu:9000',
    });
    expect(v).toMatchObject({ scheme: 's3', host: 'minio.example.edu', port: 9000, addresses: ['129.97.1.2'] });
    expect(v.endpoint?.href).toBe('https://minio.example.edu:9000/');
    expect(v.url.href).toBe('s3://lab-images/fedora.qcow2');
  });

  it('accepts plain http for an S3 endpoint only when the admin allow-listed its host', async () => {
    const policy = { ...IMPORT_POLICY, httpAllowedHosts: ['minio.example.edu'] };
    const v = await checkOutboundUrl('s3://lab-images/a.img', policy, makeResolver(), { s3Endpoint: 'http://minio.example.edu' });
    expect(v.endpoint?.protocol).toBe('http:');
  });
});

describe('outbound URL guard: DNS', () => {
  it('refuses a name whose answers mix a public and a private address (rebinding-style)', async () => {
    const resolver = makeResolver();
    resolver.set('cdn.example.net', ['151.101.1.1', '2a04:4e42::1', '10.0.0.7']);
    expect(await refusalReason(checkOutboundUrl('https://cdn.example.net/disk.img', IMPORT_POLICY, resolver))).toMatch(/10\.0\.0\.7/);
    resolver.set('cdn.example.net', ['151.101.1.1', '2a04:4e42::1']);
    const ok = await checkOutboundUrl('https://cdn.example.net/disk.img', IMPORT_POLICY, resolver);
    expect(ok.addresses).toEqual(['151.101.1.1', '2a04:4e42::1']);
  });

  it('returns deduplicated, canonical addresses for pinning', async () => {
    const resolver = makeResolver();
    resolver.set('dup.example.net', ['93.184.216.34', '93.184.216.34', '2001:4860:4860:0:0:0:0:8888']);
    const v = await checkOutboundUrl('https://dup.example.net/', IMPORT_POLICY, resolver);
    expect(v.addresses).toEqual(['93.184.216.34', '2001:4860:4860::8888']);
  });

  it('reports a resolver failure as retryable UpstreamUnavailable, never as a pass', async () => {
    const resolver = makeResolver();
    resolver.failNext();
    const err: unknown = await checkOutboundUrl('https://example.com/', IMPORT_POLICY, resolver).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamUnavailableError);
    expect((err as UpstreamUnavailableError).code).toBe('DNS_UNAVAILABLE');
  });

  it('resolves the registry host of a docker reference and the endpoint of an s3 URL', async () => {
    const resolver = makeResolver();
    await checkOutboundUrl('docker://quay.io/a/b:1', IMPORT_POLICY, resolver);
    await checkOutboundUrl('s3://bucket-1/k', IMPORT_POLICY, resolver, { s3Endpoint: 'https://minio.example.edu' });
    expect(resolver.lookups).toEqual(['quay.io', 'minio.example.edu']);
  });
});

describe('outbound URL guard: per-use schemes', () => {
  it('for webhooks accepts https only', async () => {
    const resolver = makeResolver();
    await expect(checkOutboundUrl('https://example.com/hook', WEBHOOK_POLICY, resolver)).resolves.toMatchObject({ host: 'example.com' });
    expect(await refusalReason(checkOutboundUrl('docker://quay.io/a/b', WEBHOOK_POLICY, resolver))).toMatch(/scheme 'docker'.*allowed: https/);
    expect(await refusalReason(checkOutboundUrl('s3://bucket/key', WEBHOOK_POLICY, resolver))).toMatch(/scheme 's3'/);
    expect(await refusalReason(checkOutboundUrl('http://mirror.example.org/hook', WEBHOOK_POLICY, resolver))).toMatch(/scheme 'http'/);
  });

  it('never echoes credentials from a refused URL in its reason', async () => {
    const reason = await refusalReason(checkOutboundUrl('https://admin:hunter2@example.com/', IMPORT_POLICY, makeResolver()));
    expect(reason).not.toMatch(/hunter2|admin/);
  });
});
