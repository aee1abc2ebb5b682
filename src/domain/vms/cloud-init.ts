import { createHash } from 'node:crypto';

export interface UserDataInput {
  readonly hostname: string;
  /** Validated OpenSSH public keys (one line each). */
  readonly sshPublicKeys: readonly string[];
  /** Extra user-data from the caller: a `#cloud-config` document or a `#!` script. */
  readonly extra?: string;
  /** The Azure Arc onboarding `#cloud-config` (it may hold the onboarding token), merged after ours. */
  readonly arc?: string;
}

/** Our part: host name and the authorized keys of the image's default user. Strings are JSON-quoted (valid YAML). */
function platformConfig(input: UserDataInput): string {
  return [
    '#cloud-config',
    `hostname: ${JSON.stringify(input.hostname)}`,
    'ssh_authorized_keys:',
    ...input.sshPublicKeys.map((k) => `  - ${JSON.stringify(k.trim())}`),
    '',
  ].join('\n');
}

/**
 * The user-data of a VM's cloud-init Secret. Without extra user-data it is a plain `#cloud-config`;
 * with it, a MIME multipart archive (which cloud-init reads natively): our part first, then the
 * caller's, merged so that lists (e.g. more `ssh_authorized_keys`) append rather than replace ours.
 */
export function buildUserData(input: UserDataInput): string {
  const ours = platformConfig(input);
  if (input.extra === undefined && input.arc === undefined) return ours;
  const extra = input.extra === undefined ? undefined : input.extra.endsWith('\n') ? input.extra : `${input.extra}\n`;
  const arc = input.arc === undefined ? undefined : input.arc.endsWith('\n') ? input.arc : `${input.arc}\n`;
  const boundary = `==labplane-${createHash('sha256')
    .update(ours)
    .update(arc ?? '')
    .update(extra ?? '')
    .digest('hex')
    .slice(0, 24)}==`;
  const isScript = extra?.startsWith('#!') === true;
  const part = (type: string, filename: string, body: string, merge: boolean) =>
    [
      `--${boundary}`,
      `Content-Type: ${type}; charset="utf-8"`,
      'MIME-Version: 1.0',
      'Content-Transfer-Encoding: 8bit',
      `Content-Disposition: attachment; filename="${filename}"`,
      ...(merge ? ['Merge-Type: list(append)+dict(no_replace,recurse_list)+str()'] : []),
      '',
      body,
    ].join('\n');
  return [
    `Content-Type: multipart/mixed; boundary="${boundary}"`,
    'MIME-Version: 1.0',
    '',
    part('text/cloud-config', 'labplane.cfg', ours, false),
    ...(arc === undefined ? [] : [part('text/cloud-config', 'arc-onboarding.cfg', arc, true)]),
    ...(extra === undefined
      ? []
      : [isScript ? part('text/x-shellscript', 'user-script.sh', extra, false) : part('text/cloud-config', 'user.cfg', extra, true)]),
    `--${boundary}--`,
    '',
  ].join('\n');
}
