import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createArcUserDataRenderer } from '../../src/adapters/azure/cloud-init/render-arc-onboarding.js';
import { renderTemplate, shellQuote, yamlQuote } from '../../src/adapters/azure/cloud-init/template.js';
import type { ArcOnboardingInput } from '../../src/domain/identity/onboarding.js';
import { PreconditionFailedError, ValidationError } from '../../src/domain/shared/errors.js';

const TOKEN = 'eyJ0eXAiOiJKV1QifQ.onboarding-token-7f3a9c.sig';
const VM_ID = '9b1f0d1e-3f57-4c1a-9a43-0c9b1c3f2e11';

function input(overrides: Partial<ArcOnboardingInput> = {}, target: Partial<ArcOnboardingInput['target']> = {}): ArcOnboardingInput {
  return {
    machineName: 'vm-olga-1',
    tenant: 'os-2025',
    vmId: VM_ID,
    target: {
      subscriptionId: '3f2c8a71-5b9e-4d0a-9c61-0e7d4b2a9f15',
      resourceGroup: 'rg-labplane-arc',
      location: 'westeurope',
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      ...target,
    },
    secret: { kind: 'access-token', token: TOKEN },
    ...overrides,
  };
}

interface CloudConfig {
  bootcmd: unknown[][];
  write_files: Array<{ path: string; permissions: string; owner: string; content: string }>;
  runcmd: unknown[];
}

const occurrences = (text: string, needle: string) => text.split(needle).length - 1;
const scriptOf = (userData: string) => (parse(userData) as CloudConfig).write_files[0]?.content ?? '';

const sandbox = mkdtempSync(join(tmpdir(), 'labplane-cloud-init-'));
afterAll(() => rmSync(sandbox, { recursive: true, force: true }));

/** Runs only the script's `readonly NAME=...` lines in bash and returns what each variable holds. */
function shellValues(script: string): Record<string, string> {
  const lines = script.split('\n').filter((l) => /^readonly [A-Z_]+=/.test(l));
  const names = lines.map((l) => /^readonly ([A-Z_]+)=/.exec(l)?.[1] ?? '');
  const code = `${lines.join('\n')}\nprintf '%s\\0' ${names.map((n) => `"$${n}"`).join(' ')}`;
  const out = execFileSync('bash', ['-c', code], { cwd: sandbox, encoding: 'utf8' }).split('\0');
  return Object.fromEntries(names.map((n, i) => [n, out[i] ?? '']));
}

describe('Arc onboarding cloud-init', () => {
  const renderer = createArcUserDataRenderer();

  it('is valid #cloud-config YAML whose very first action blocks IMDS', async () => {
    const { userData } = await renderer.render(input());
    expect(userData.startsWith('#cloud-config\n')).toBe(true);
    const doc = parse(userData) as CloudConfig;
    expect(Object.keys(doc)[0]).toBe('bootcmd');
    expect(JSON.stringify(doc.bootcmd[0])).toMatch(/iptables -I OUTPUT 1 -d 169\.254\.169\.254\/32 -j REJECT/);
    const imds = userData.indexOf('169.254.169.254');
    for (const later of ['write_files', 'curl', 'azcmagent', 'runcmd']) expect(imds).toBeLessThan(userData.indexOf(later));
    const script = scriptOf(userData);
    expect(script.indexOf('\nblock_imds\n')).toBeLessThan(script.indexOf('\nwait_for_network ||'));
    expect(doc.runcmd).toEqual([['/usr/local/sbin/labplane-arc-onboard']]);
  });

  it('connects with the VM name, the tenant and VM id tags and the access token, with bounded growing retries', async () => {
    const { userData } = await renderer.render(input());
    const script = scriptOf(userData);
    expect(shellValues(script)).toEqual({
      LOG: '/var/log/labplane-arc-onboarding.log',
      CREDENTIAL_FILE: '/run/labplane/arc-onboarding.credential',
      SUBSCRIPTION_ID: '3f2c8a71-5b9e-4d0a-9c61-0e7d4b2a9f15',
      RESOURCE_GROUP: 'rg-labplane-arc',
      TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      LOCATION: 'westeurope',
      CLOUD: 'AzureCloud',
      RESOURCE_NAME: 'vm-olga-1',
      TAGS: `labplane-tenant=os-2025,labplane-vm-id=${VM_ID}`,
    });
    const connect = script.slice(script.indexOf('azcmagent connect'), script.indexOf('&& return 0', script.indexOf('azcmagent connect')));
    for (const flag of [
      '--resource-group "$RESOURCE_GROUP"',
      '--tenant-id "$TENANT_ID"',
      '--location "$LOCATION"',
      '--subscription-id "$SUBSCRIPTION_ID"',
      '--resource-name "$RESOURCE_NAME"',
      '--tags "$TAGS"',
      '--access-token "$(cat "$CREDENTIAL_FILE")"',
    ]) {
      expect(connect).toContain(flag);
    }
    expect(script).toMatch(/for attempt in 1 2 3 4 5 6; do/);
    expect(script).toContain('delay=$((delay * 2))');
    expect(script).toMatch(/for i in \$\(seq 1 60\); do/);
    execFileSync('bash', ['-n', '-c', script]);
  });

  it('writes the token exactly once, to a root-only 0600 file under /run that the script deletes on every exit', async () => {
    const { userData } = await renderer.render(input());
    expect(occurrences(userData, TOKEN)).toBe(1);
    const file = (parse(userData) as CloudConfig).write_files.find((f) => f.path === '/run/labplane/arc-onboarding.credential');
    expect(file).toEqual({ path: '/run/labplane/arc-onboarding.credential', owner: 'root:root', permissions: '0600', content: TOKEN });
    const script = scriptOf(userData);
    expect(script).toContain('trap forget_credential EXIT');
    expect(script).toContain('shred -u "$CREDENTIAL_FILE"');
  });

  it('the scrubbed version carries no token and no credential file, and is still valid', async () => {
    const { userData, scrubbedUserData } = await renderer.render(input());
    expect(scrubbedUserData).not.toContain(TOKEN);
    expect(scrubbedUserData).not.toContain('onboarding-token');
    const doc = parse(scrubbedUserData) as CloudConfig;
    expect(doc.write_files.map((f) => f.path)).toEqual(['/usr/local/sbin/labplane-arc-onboard']);
    expect(scriptOf(scrubbedUserData)).toBe(scriptOf(userData));
    expect(scrubbedUserData.startsWith('#cloud-config\n')).toBe(true);
  });

  it('hostile values stay inert data: quotes, $() and backticks reach bash as literal strings', async () => {
    const marker = join(sandbox, 'pwned');
    const hostile = {
      resourceGroup: `rg'; touch ${marker}; echo '`,
      location: `west$(touch ${marker})europe`,
      cloud: `Azure\`touch ${marker}\`"Cloud"`,
    };
    const token = `tok"en'$(touch ${marker})\\`;
    const { userData } = await renderer.render(input({ secret: { kind: 'access-token', token } }, hostile));
    const doc = parse(userData) as CloudConfig;
    expect(doc.write_files[1]?.content).toBe(token);
    const values = shellValues(scriptOf(userData));
    expect(values).toMatchObject({ RESOURCE_GROUP: hostile.resourceGroup, LOCATION: hostile.location, CLOUD: hostile.cloud });
    execFileSync('bash', ['-n', '-c', scriptOf(userData)]);
    expect(existsSync(marker)).toBe(false);
  });

  it('names the installation in a `labplane-cluster` tag when it has a name, and refuses a name that is not a DNS label', async () => {
    const { userData, scrubbedUserData } = await renderer.render(input({}, { cluster: 'aks-weu-1' }));
    expect(shellValues(scriptOf(userData))['TAGS']).toBe(`labplane-tenant=os-2025,labplane-vm-id=${VM_ID},labplane-cluster=aks-weu-1`);
    expect(shellValues(scriptOf(scrubbedUserData))['TAGS']).toBe(`labplane-tenant=os-2025,labplane-vm-id=${VM_ID},labplane-cluster=aks-weu-1`);
    const err = await renderer.render(input({}, { cluster: 'x,labplane-tenant=other' })).catch((e: unknown) => e);
    expect((err as ValidationError).issues.map((i) => i.field)).toEqual(['target.cluster']);
  });

  it('refuses values that cannot be right: long machine names, tags that would split, control characters', async () => {
    const err = await renderer
      .render(input({ machineName: 'x'.repeat(55), tenant: 'a,labplane-admin=true', vmId: 'not-a-uuid' }, { resourceGroup: 'rg\nruncmd:' }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).issues.map((i) => i.field).sort()).toEqual(['machineName', 'target.resourceGroup', 'tenant', 'vmId']);
    await expect(renderer.render(input({ secret: { kind: 'access-token', token: 'a\nb' } }))).rejects.toBeInstanceOf(ValidationError);
  });

  it('the service-principal fallback is refused unless explicitly allowed', async () => {
    const sp = input({ secret: { kind: 'service-principal', clientId: 'b1e2d3c4-a5f6-4789-8abc-def012345678', clientSecret: 'sp~secret~value' } });
    await expect(renderer.render(sp)).rejects.toBeInstanceOf(PreconditionFailedError);
    const { userData, scrubbedUserData } = await createArcUserDataRenderer({ allowServicePrincipal: true }).render(sp);
    expect(occurrences(userData, 'sp~secret~value')).toBe(1);
    expect(scrubbedUserData).not.toContain('sp~secret~value');
    const script = scriptOf(userData);
    expect(shellValues(script)['SP_CLIENT_ID']).toBe('b1e2d3c4-a5f6-4789-8abc-def012345678');
    expect(script).toContain('--service-principal-secret "$(cat "$CREDENTIAL_FILE")"');
    expect(script).not.toContain('--access-token');
    execFileSync('bash', ['-n', '-c', script]);
  });
});

describe('template escaping', () => {
  const samples = ['plain', "it's", 'new\nline', 'tab\tand\r', '$(reboot) `id` ${HOME} "q" \\', 'ünïcödé ✓ 🚀', "'; rm -rf / #"];

  it('a shell-quoted value is one line and expands to exactly itself in bash', () => {
    for (const s of samples) {
      const word = shellQuote(s);
      expect(word).not.toMatch(/[\n\r]/);
      expect(execFileSync('bash', ['-c', `printf '%s' ${word}`], { encoding: 'utf8' })).toBe(s);
    }
    expect(() => shellQuote('a\0b')).toThrow(TypeError);
  });

  it('a YAML-quoted value is one line and parses back to exactly itself', () => {
    for (const s of samples) {
      const scalar = yamlQuote(s);
      expect(scalar).not.toMatch(/[\n\r]/);
      expect(parse(`v: ${scalar}`)).toEqual({ v: s });
    }
  });

  it('unknown placeholders, escapers and section flags are errors, not blanks', () => {
    expect(() => renderTemplate('{{ a | sh }}', {}, {})).toThrow(/no value/);
    expect(() => renderTemplate('{{ a | html }}', { a: 'x' }, {})).toThrow(/unknown escaper/);
    expect(() => renderTemplate('{{#f}}\nx\n{{/f}}\n', {}, {})).toThrow(/no flag/);
    expect(() => renderTemplate('{{ a }}', { a: 'x' }, {})).toThrow(/unknown tag/);
    expect(renderTemplate('a\n{{#f}}\n  kept\n{{/f}}\n{{#g}}\ndropped\n{{/g}}\n', {}, { f: true, g: false })).toBe('a\n  kept\n');
  });
});
