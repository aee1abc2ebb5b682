import { describe, expect, it } from 'vitest';
import { checkOutboundUrl } from '../../src/domain/net/outbound-url.js';
import { IMPORT_POLICY, makeResolver, refusalReason } from './support/guard-fixture.js';

type Case = readonly [url: string, reason: RegExp];

const LOOPBACK = /loopback/;
const LINK_LOCAL = /link-local/;
const PRIVATE = /private/;
const INTERNAL = /cluster-internal|single-label/;
const NON_CANONICAL = /non-canonical IPv4|neither a host name/;

const SCHEMES_AND_FORM: Case[] = [
  ['ftp://example.com/disk.img', /scheme 'ftp'/],
  ['file:///etc/passwd', /scheme 'file'/],
  ['gopher://127.0.0.1:6379/_SET', /scheme 'gopher'/],
  ['javascript:alert(1)', /scheme 'javascript'/],
  ['data:text/plain,hello', /scheme 'data'/],
  ['dict://127.0.0.1:11211/stat', /scheme 'dict'/],
  ['https:example.com/disk.img', /must have the form/],
  ['https:/example.com/disk.img', /must have the form/],
  ['https:///127.0.0.1/', /no host/],
  ['http://example.com/disk.img', /plain http/],
  ['http://images.example.org/disk.img', /plain http/],
  ['example.com/disk.img', /no scheme/],
  ['', /empty/],
];

const CREDENTIALS_AND_PARSER_TRICKS: Case[] = [
  ['https://user:pass@example.com/disk.img', /userinfo/],
  ['https://good.com@127.0.0.1/', /userinfo/],
  ['https://@example.com/', /userinfo/],
  ['https://127.0.0.1#@good.com', /fragment/],
  ['https://example.com/disk.img#frag', /fragment/],
  ['https://good.com\\@127.0.0.1/', /backslash/],
  ['https://127.0.0.1\\.good.com/', /backslash/],
  ['https://good.com%40127.0.0.1/', /percent-encoding/],
  ['https://%31%32%37.0.0.1/', /percent-encoding/],
  ['https://127.0.0.%31/', /percent-encoding/],
  ['https://exa mple.com/', /spaces or control/],
  ['https://example.com\n.internal/', /spaces or control/],
  ['https://example.com\t/', /spaces or control/],
  ['https://ex\u00e4mple.com/', /non-ASCII/],
  ['https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/', /non-ASCII/],
  ['https://[::1/', /unterminated/],
  ['https://example.com:0/', /port out of range/],
  ['https://example.com:99999/', /malformed port|out of range/],
  ['https://example.com:/', /malformed port/],
  ['https://ex..ample.com/', /not a valid host name/],
  ['https://-bad-.example.com/', /not a valid host name/],
  [`https://${'a'.repeat(4100)}.com/`, /longer than/],
];

const ADDRESS_LITERALS: Case[] = [
  ['https://127.0.0.1/', LOOPBACK],
  ['https://127.255.255.254:8443/x', LOOPBACK],
  ['https://[::1]/', LOOPBACK],
  ['https://[0:0:0:0:0:0:0:1]/', LOOPBACK],
  ['https://0.0.0.0/', /unspecified/],
  ['https://[::]/', /unspecified/],
  ['https://169.254.169.254/latest/meta-data/', LINK_LOCAL],
  ['https://169.254.0.1/', LINK_LOCAL],
  ['https://[fe80::1]/', LINK_LOCAL],
  ['https://[febf::1]/', LINK_LOCAL],
  ['https://[fe80::1%25eth0]/', /zone/],
  ['https://168.63.129.16/machine?comp=goalstate', /wireserver/],
  ['https://10.0.0.1/', PRIVATE],
  ['https://10.255.255.255/', PRIVATE],
  ['https://172.16.0.1/', PRIVATE],
  ['https://172.31.255.255/', PRIVATE],
  ['https://192.168.1.1/', PRIVATE],
  ['https://100.64.0.1/', /CGNAT/],
  ['https://100.100.100.200/latest/meta-data/', /CGNAT/],
  ['https://[fc00::1]/', PRIVATE],
  ['https://[fd00:ec2::254]/', PRIVATE],
  ['https://224.0.0.1/', /multicast/],
  ['https://239.255.255.250/', /multicast/],
  ['https://[ff02::1]/', /multicast/],
  ['https://240.0.0.1/', /reserved/],
  ['https://255.255.255.255/', /broadcast/],
  ['https://192.0.2.10/', /documentation/],
  ['https://198.18.0.1/', /benchmarking/],
  ['https://[2001:db8::1]/', /documentation/],
];

const TUNNELLED_IPV6: Case[] = [
  ['https://[::ffff:127.0.0.1]/', /loopback.*IPv4-mapped/],
  ['https://[::ffff:7f00:1]/', /loopback.*IPv4-mapped/],
  ['https://[0:0:0:0:0:ffff:7f00:0001]/', /loopback.*IPv4-mapped/],
  ['https://[::ffff:169.254.169.254]/', /link-local.*IPv4-mapped/],
  ['https://[::ffff:a9fe:a9fe]/', /link-local.*IPv4-mapped/],
  ['https://[::ffff:10.0.0.1]/', /private.*IPv4-mapped/],
  ['https://[::ffff:0.0.0.0]/', /unspecified/],
  ['https://[::127.0.0.1]/', /loopback.*IPv4-compatible/],
  ['https://[::8.8.8.8]/', /deprecated/],
  ['https://[::ffff:0:10.0.0.1]/', /private.*IPv4-translated/],
  ['https://[64:ff9b::10.0.0.1]/', /private.*NAT64/],
  ['https://[64:ff9b::a9fe:a9fe]/', /link-local.*NAT64/],
  ['https://[64:ff9b:1::1]/', /local-use NAT64/],
  ['https://[2002:7f00:1::]/', /loopback.*6to4/],
  ['https://[2002:a9fe:a9fe::1]/', /link-local.*6to4/],
  ['https://[2002:c0a8:101::1]/', /private.*6to4/],
  ['https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', /Teredo/],
];

const NUMERIC_ENCODINGS: Case[] = [
  ['https://2130706433/', LOOPBACK],
  ['http://2130706433/', LOOPBACK],
  ['https://017700000001/', LOOPBACK],
  ['https://0x7f000001/', LOOPBACK],
  ['https://0x7f.1/', LOOPBACK],
  ['https://127.1/', LOOPBACK],
  ['https://127.0.1/', LOOPBACK],
  ['https://0177.0.0.1/', LOOPBACK],
  ['https://0x7f.0.0.1/', LOOPBACK],
  ['https://0x7F.00.0.01/', LOOPBACK],
  ['https://127.0.0.1./', LOOPBACK],
  ['https://0/', /unspecified/],
  ['https://0x/', /unspecified/],
  ['https://3232235777/', PRIVATE],
  ['https://0xa9fea9fe/', LINK_LOCAL],
  ['https://0251.0376.0251.0376/', LINK_LOCAL],
  ['https://169.254.43518/', LINK_LOCAL],
  ['https://2852039166/', LINK_LOCAL],
  ['https://010.0.0.1/', NON_CANONICAL],
  ['https://0x5d.0xb8.0xd8.0x22/', NON_CANONICAL],
  ['https://1572395042/', NON_CANONICAL],
  ['https://08.8.8.8/', NON_CANONICAL],
  ['https://1.2.3.4.5/', NON_CANONICAL],
  ['https://999.1.1.1/', NON_CANONICAL],
  ['https://example.123/', NON_CANONICAL],
];

const INTERNAL_NAMES: Case[] = [
  ['https://localhost/', INTERNAL],
  ['https://localhost./', INTERNAL],
  ['https://LOCALHOST:8080/', INTERNAL],
  ['https://app.localhost/', INTERNAL],
  ['https://kubernetes/', INTERNAL],
  ['https://kubernetes.default/', INTERNAL],
  ['https://kubernetes.default.svc/', INTERNAL],
  ['https://kubernetes.default.svc.cluster.local/', INTERNAL],
  ['https://cdi-uploadproxy.cdi.svc.cluster.local/', INTERNAL],
  ['https://redis.labplane.svc/', INTERNAL],
  ['https://node-1.cluster.local/', INTERNAL],
  ['https://redis/', INTERNAL],
  ['https://metadata/', INTERNAL],
  ['https://metadata.google.internal/computeMetadata/v1/', INTERNAL],
  ['https://vault.corp.internal/', INTERNAL],
  ['https://printer.local/', INTERNAL],
  ['https://router.home.arpa/', INTERNAL],
  ['https://example.com./', /trailing dot/],
];

const RESOLVED: Case[] = [
  ['https://to-loopback.example.net/', /resolves to 127\.0\.0\.1, a loopback/],
  ['https://to-metadata.example.net/', /resolves to 169\.254\.169\.254/],
  ['https://to-wireserver.example.net/', /wireserver/],
  ['https://to-private.example.net/', /resolves to 10\.1\.2\.3, a private/],
  ['https://to-v6-loopback.example.net/', /resolves to ::1/],
  ['https://to-mapped.example.net/', /resolves to ::ffff:a9fe:a9fe/],
  ['https://to-ula.example.net/', /unique local/],
  ['https://rebind.example.net/', /resolves to 192\.168\.0\.10/],
  ['https://rebind6.example.net/', /resolves to fe80::1/],
  ['https://127.0.0.1.nip.io/', LOOPBACK],
  ['https://nxdomain.example.net/', /does not resolve/],
  ['https://garbage-answer.example.net/', /unreadable address/],
];

const DOCKER_AND_S3: Case[] = [
  ['docker://127.0.0.1:5000/img:latest', LOOPBACK],
  ['docker://0x7f.1/img', LOOPBACK],
  ['docker://2130706433:5000/img', LOOPBACK],
  ['docker://2130706433/img', LOOPBACK],
  ['docker://0x7f000001/org/img:1', LOOPBACK],
  ['docker://017700000001:5000/img', LOOPBACK],
  ['docker://localhost/img', INTERNAL],
  ['docker://localhost:5000/img', INTERNAL],
  ['docker://[::1]:5000/img', LOOPBACK],
  ['docker://[::ffff:169.254.169.254]/img', LINK_LOCAL],
  ['docker://registry.kube-system.svc.cluster.local:5000/img', INTERNAL],
  ['docker://Registry/img', INTERNAL],
  ['docker://user:secret@registry.example.com/img', /userinfo/],
  ['docker://registry%2eexample.com/img', /percent-encoding/],
  ['docker://registry-private.example.net/org/img:1', PRIVATE],
  ['docker://registry.example.com/Bad_Name!', /repository name/],
  ['docker://registry.example.com/img:tag?x=1', /no query/],
  ['s3://127.0.0.1/key', /formatted as an IP/],
  ['s3://bucket:9000/key', /bucket, not a host and port/],
  ['s3://key:secret@bucket/key', /userinfo/],
  ['s3://Bad_Bucket/key', /not a valid bucket name/],
  ['s3://bucket', /object key/],
];

const ALL: Case[] = [
  ...SCHEMES_AND_FORM,
  ...CREDENTIALS_AND_PARSER_TRICKS,
  ...ADDRESS_LITERALS,
  ...TUNNELLED_IPV6,
  ...NUMERIC_ENCODINGS,
  ...INTERNAL_NAMES,
  ...RESOLVED,
  ...DOCKER_AND_S3,
];

describe('outbound URL guard: hostile URLs', () => {
  it('has a table of well over 60 hostile URLs', () => {
    expect(ALL.length).toBeGreaterThanOrEqual(150);
  });

  it.each(ALL)('refuses %s', async (url, reason) => {
    const resolver = makeResolver();
    expect(await refusalReason(checkOutboundUrl(url, IMPORT_POLICY, resolver))).toMatch(reason);
  });

  it('refuses internal names and IP literals without asking DNS', async () => {
    const resolver = makeResolver();
    for (const [url] of [...ADDRESS_LITERALS, ...NUMERIC_ENCODINGS, ...INTERNAL_NAMES, ...TUNNELLED_IPV6]) {
      await refusalReason(checkOutboundUrl(url, IMPORT_POLICY, resolver));
    }
    expect(resolver.lookups).toEqual([]);
  });

  it('vets the S3 endpoint like an https URL', async () => {
    const resolver = makeResolver();
    const s3 = (endpoint: string) => checkOutboundUrl('s3://bucket/disk.img', IMPORT_POLICY, resolver, { s3Endpoint: endpoint });
    expect(await refusalReason(s3('https://127.0.0.1:9000'))).toMatch(LOOPBACK);
    expect(await refusalReason(s3('https://minio.minio.svc:9000'))).toMatch(INTERNAL);
    expect(await refusalReason(s3('https://minio-private.example.net'))).toMatch(PRIVATE);
    expect(await refusalReason(s3('http://minio.example.edu'))).toMatch(/plain http/);
    expect(await refusalReason(s3('https://u:p@minio.example.edu'))).toMatch(/userinfo/);
    expect(await refusalReason(s3('https://minio.example.edu/some/path'))).toMatch(/origin/);
    expect(await refusalReason(s3('ftp://minio.example.edu'))).toMatch(/scheme 'ftp'/);
  });

  it('refuses names under admin-configured suffixes', async () => {
    const policy = { ...IMPORT_POLICY, blockedHostSuffixes: ['labplane', '.uni-intra.net.'] };
    const resolver = makeResolver();
    expect(await refusalReason(checkOutboundUrl('https://redis.labplane/', policy, resolver))).toMatch(/\*\.labplane/);
    expect(await refusalReason(checkOutboundUrl('https://vm.lab.uni-intra.net/', policy, resolver))).toMatch(/\*\.uni-intra\.net/);
  });
});
