import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { createApi, type LabplaneApi } from '../client.js';
import type { components } from '../generated/openapi.js';
import { waitForOperation, type Operation } from '../operations.js';
import { items, type PageStart } from '../pages.js';
import { LabplaneProblemError } from '../problem.js';
import { parseRoster, RosterError, type RosterFormat } from '../roster.js';
import { completionScript } from './completion.js';
import { configPath, readConfig, removeConfigToken, resolveConnection, writeConfig, type StoredConfig } from './config.js';
import { signInWithDeviceCode, type CredentialFactory } from './device-code.js';
import { field, OUTPUT_FORMATS, render, type Column, type OutputFormat } from './output.js';
import { progressView } from './progress.js';

type Schemas = components['schemas'];

/** Where the CLI reads and writes: the process's streams and environment, or a test's. */
export interface CliIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly env: NodeJS.ProcessEnv;
  /** Creates the Azure AD device code credential (tests replace it). */
  readonly deviceCode?: CredentialFactory;
}

/** A command used wrongly, found while it runs (commander's own usage errors are its CommanderErrors): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A failure already explained to the user: the CLI exits with `exitCode` and prints nothing more. */
export class CliExit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

interface GlobalOptions {
  url?: string;
  token?: string;
  tenant?: string;
  output: OutputFormat;
}

const OPERATION_COLUMNS: Column[] = [
  field('ID'),
  field('Kind'),
  field('Status'),
  field('Percent', 'progress.percent'),
  field('Step', 'progress.step'),
  field('Target', 'target.id'),
];
const TENANT_COLUMNS: Column[] = [
  field('ID'),
  field('Display name', 'displayName'),
  field('Profile'),
  field('Phase'),
  field('VMs', 'usage.virtualMachines'),
];
const IMAGE_COLUMNS: Column[] = [field('Scope'), field('Name'), field('Display name', 'displayName'), field('Phase'), field('Size Gi', 'sizeGi')];
const VM_COLUMNS: Column[] = [
  field('Name'),
  field('Owner'),
  field('State'),
  field('Lab'),
  field('CPU'),
  field('Memory Gi', 'memoryGi'),
  field('Disk Gi', 'diskGi'),
];
const LAB_COLUMNS: Column[] = [
  field('Name'),
  field('Phase'),
  field('Total', 'summary.total'),
  field('Ready', 'summary.ready'),
  field('Failed', 'summary.failed'),
];
const STUDENT_COLUMNS: Column[] = [field('ID'), field('Email'), field('Status'), field('VM'), field('VM state', 'vmState'), field('Code')];
const WEBHOOK_COLUMNS: Column[] = [field('ID'), field('URL'), field('Events'), field('Description')];

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `platform/ubuntu-24-04` or `tenant/my-image` (a bare name is a platform image). */
function imageRef(value: string): Schemas['VmImageRef'] {
  const [scope, name] = value.includes('/') ? value.split('/', 2) : ['platform', value];
  if ((scope !== 'platform' && scope !== 'tenant') || !name) throw new InvalidArgumentError("expected 'platform/<name>' or 'tenant/<name>'");
  return { scope, name };
}

async function readBodyFile(path: string | undefined): Promise<Record<string, unknown>> {
  if (path === undefined) return {};
  const text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  const parsed = parseYaml(text) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`${path}: expected a JSON or YAML object`);
  return parsed as Record<string, unknown>;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function sshKeys(files: readonly string[] | undefined): Promise<string[] | undefined> {
  if (files === undefined) return undefined;
  return Promise.all(files.map(async (f) => (await readFile(f, 'utf8')).trim()));
}

/** The body of a file with the flags given over it (flags not given leave the file's value). */
function overlay(base: Record<string, unknown>, flags: Record<string, unknown>): Record<string, unknown> {
  return { ...base, ...without(flags) };
}

/** The object without its undefined members (the contract's optional fields may be absent, never undefined). */
function without<T extends object>(x: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

export function buildProgram(io: CliIo): Command {
  const program = new Command('labplane')
    .description('Command-line client of the labplane API (university VM labs on KubeVirt).')
    .option('--url <url>', 'API origin (env LABPLANE_URL, else the login config, else http://127.0.0.1:8080)')
    .option('--token <token>', 'bearer token (env LABPLANE_TOKEN, else the login config)')
    .option('-t, --tenant <tenant>', 'tenant of tenant-scoped commands (env LABPLANE_TENANT)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .showHelpAfterError()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();

  const config = configPath(io.env);
  // The program's own options only (not optsWithGlobals, where a subcommand's option of the same
  // name would stand in for a global one).
  const globals = (_cmd: Command) => program.opts<GlobalOptions>();

  async function session(cmd: Command) {
    const g = globals(cmd);
    const connection = resolveConnection(g, io.env, await readConfig(config));
    const api = createApi({ baseUrl: connection.url, ...(connection.token === undefined ? {} : { token: connection.token }) });
    const tenant = (): string => {
      if (connection.tenant === undefined) throw new UsageError('give the tenant: --tenant <tenant> or LABPLANE_TENANT');
      return connection.tenant;
    };
    const print = (data: unknown, columns: readonly Column[]) => io.stdout.write(render(g.output, data, columns));
    /** The operation a 202 answered, or with `--wait` the operation once it finished (a failure exits 1). */
    const operation = async (op: Operation | undefined, wait: boolean) => {
      if (op === undefined) throw new Error('the API answered no operation');
      if (!wait) {
        print(op, OPERATION_COLUMNS);
        return;
      }
      print(await waitWithProgress(api, op.id), OPERATION_COLUMNS);
    };
    return { api, tenant, maybeTenant: connection.tenant, print, operation, output: g.output };
  }

  /** Waits showing progress; Ctrl-C stops waiting (the operation goes on) and says how to wait again. */
  async function waitWithProgress(api: LabplaneApi, id: string): Promise<Operation> {
    const view = progressView(io.stderr);
    const stop = new AbortController();
    const onSigint = () => stop.abort(new CliExit(130));
    process.once('SIGINT', onSigint);
    let done: Operation;
    try {
      done = await waitForOperation(api, id, { onProgress: (op) => view.update(op), signal: stop.signal, cancelOnAbort: false });
    } catch (error) {
      if (error instanceof CliExit) io.stderr.write(`\nstopped waiting; operation ${id} goes on: labplane operations wait ${id}\n`);
      throw error;
    } finally {
      view.stop();
      process.off('SIGINT', onSigint);
    }
    if (done.status !== 'succeeded') {
      const e = done.error;
      io.stderr.write(`operation ${id} ${done.status}${e ? `: ${e.code}${e.detail ? `: ${e.detail}` : ''}` : ''}\n`);
      process.exitCode = 1;
    }
    return done;
  }

  /** Every item of a list, following cursors (up to `max` when given). */
  async function listAll<T>(
    call: (start: PageStart) => Promise<{ data?: { items: T[]; nextCursor?: string } | undefined }>,
    max?: number,
  ): Promise<T[]> {
    const all: T[] = [];
    for await (const item of items(call)) {
      all.push(item);
      if (max !== undefined && all.length >= max) break;
    }
    return all;
  }
  const listOptions = (cmd: Command) => cmd.option('--max <n>', 'at most this many items (default: every page)', positiveInt);
  const waitOption = (cmd: Command) => cmd.option('-w, --wait', 'wait for the operation to finish, showing its progress');
  type Session = Awaited<ReturnType<typeof session>>;
  type ListPage<T> = Promise<{ data?: { items: T[]; nextCursor?: string } | undefined }>;
  /** A `list` command without options of its own: every page (up to --max) in the chosen output. */
  const listCommand = <T>(command: Command, columns: readonly Column[], call: (s: Session, start: PageStart) => ListPage<T>) =>
    listOptions(command).action(async (opts: { max?: number }, cmd: Command) => {
      const s = await session(cmd);
      s.print(await listAll((p) => call(s, p), opts.max), columns);
    });
  /** A `get <argument>` command printing what `read` answers. */
  const getCommand = (
    parent: Command,
    argument: string,
    columns: readonly Column[],
    read: (s: Session, value: string) => Promise<{ data?: unknown }>,
  ) =>
    parent
      .command('get')
      .argument(argument)
      .action(async (value: string, _o: unknown, cmd: Command) => {
        const s = await session(cmd);
        s.print((await read(s, value)).data, columns);
      });

  // --- login / logout / completion
  program
    .command('login')
    .description('Store the API URL and a token in the config file (0600): a dev token, or an Azure AD token by device code.')
    .option('--device-code', 'sign in to Azure AD with a device code (@azure/identity DeviceCodeCredential)')
    .option('--azure-tenant-id <id>', 'Entra ID directory (tenant) id, for --device-code (env AZURE_TENANT_ID)')
    .option('--client-id <id>', 'public client app id, for --device-code (env AZURE_CLIENT_ID)')
    .option('--scope <scope>', "the API's scope, for --device-code, e.g. api://labplane/.default (env LABPLANE_SCOPE)")
    .action(async (opts: { deviceCode?: boolean; azureTenantId?: string; clientId?: string; scope?: string }, cmd: Command) => {
      const g = globals(cmd);
      const stored = await readConfig(config);
      let next: StoredConfig;
      if (opts.deviceCode === true) {
        if (g.token !== undefined) throw new UsageError('give either --token or --device-code');
        const tenantId = opts.azureTenantId ?? io.env['AZURE_TENANT_ID'];
        const clientId = opts.clientId ?? io.env['AZURE_CLIENT_ID'];
        const scope = opts.scope ?? io.env['LABPLANE_SCOPE'];
        if (!tenantId || !clientId || !scope) throw new UsageError('--device-code needs --azure-tenant-id, --client-id and --scope');
        const token = await signInWithDeviceCode({ tenantId, clientId, scope }, (message) => io.stderr.write(`${message}\n`), io.deviceCode);
        next = without({ ...stored, url: g.url ?? stored.url, token: token.token, tokenExpiresOn: new Date(token.expiresOnTimestamp).toISOString() });
      } else {
        if (g.token === undefined) throw new UsageError('give --token <token> (a dev token) or --device-code');
        const { tokenExpiresOn: _old, ...rest } = stored;
        next = without({ ...rest, url: g.url ?? stored.url, token: g.token.replace(/^bearer\s+/i, ''), tenant: g.tenant ?? stored.tenant });
      }
      await writeConfig(config, next);
      io.stderr.write(`signed in; config written to ${config}\n`);
    });
  program
    .command('logout')
    .description('Remove the stored token.')
    .action(async () => {
      await removeConfigToken(config);
    });
  program
    .command('completion')
    .description('Print a shell completion script: eval "$(labplane completion bash)"')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError('expected bash or zsh');
      io.stdout.write(completionScript(program, shell));
    });

  // --- tenants
  const tenants = program.command('tenants').description('Tenants (a course, a research group: a namespace with a quota).');
  listCommand(tenants.command('list').description('List tenants.'), TENANT_COLUMNS, (s, p) =>
    s.api.GET('/v1/tenants', { params: { query: { ...p, limit: 500 } } }),
  );
  getCommand(tenants, '<tenant>', TENANT_COLUMNS, (s, tenant) => s.api.GET('/v1/tenants/{tenant}', { params: { path: { tenant } } }));
  tenants
    .command('create')
    .argument('<id>')
    .option('--display-name <name>')
    .addOption(new Option('--profile <profile>').choices(['faculty', 'student', 'admin']))
    .option('--owner <principalId>', 'an owner (repeat)', collect)
    .option('-f, --file <file>', 'the body (JSON or YAML; flags win)')
    .action(async (id: string, opts: { displayName?: string; profile?: Schemas['TenantProfile']; owner?: string[]; file?: string }, cmd: Command) => {
      const s = await session(cmd);
      const body = overlay(await readBodyFile(opts.file), {
        id,
        displayName: opts.displayName,
        profile: opts.profile,
        owners: opts.owner?.map((principalId) => ({ principalId })),
      }) as Schemas['TenantCreate'];
      body.displayName ??= id;
      body.profile ??= 'faculty';
      s.print((await s.api.POST('/v1/tenants', { body })).data, TENANT_COLUMNS);
    });
  waitOption(tenants.command('delete').argument('<tenant>')).action(async (tenant: string, opts: { wait?: boolean }, cmd: Command) => {
    const s = await session(cmd);
    await s.operation((await s.api.DELETE('/v1/tenants/{tenant}', { params: { path: { tenant } } })).data, opts.wait === true);
  });

  // --- images
  const images = program.command('images').description("VM images (platform images, and a tenant's own with --tenant).");
  listOptions(images.command('list').description("List platform images, or the tenant's with --tenant.")).action(
    async (opts: { max?: number }, cmd: Command) => {
      const s = await session(cmd);
      const list =
        s.maybeTenant === undefined
          ? await listAll((p) => s.api.GET('/v1/images', { params: { query: { ...p, limit: 500 } } }), opts.max)
          : await listAll(
              (p) => s.api.GET('/v1/tenants/{tenant}/images', { params: { path: { tenant: s.tenant() }, query: { ...p, limit: 500 } } }),
              opts.max,
            );
      s.print(list, IMAGE_COLUMNS);
    },
  );
  images
    .command('get')
    .argument('<image>', 'platform/<name> or tenant/<name> (with --tenant)')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const s = await session(cmd);
      const { scope, name } = imageRef(ref);
      const data =
        scope === 'platform'
          ? (await s.api.GET('/v1/images/{image}', { params: { path: { image: name } } })).data
          : (await s.api.GET('/v1/tenants/{tenant}/images/{image}', { params: { path: { tenant: s.tenant(), image: name } } })).data;
      s.print(data, IMAGE_COLUMNS);
    });

  waitOption(images.command('import').argument('<name>').description("Import an image (the platform's, or the tenant's with --tenant)."))
    .option('--source <url>', 'https://…, docker://registry/repository:tag or s3://bucket/key')
    .addOption(new Option('--source-type <type>', 'default: from the URL').choices(['http', 'registry', 's3']))
    .option('--secret <name>', "s3: the Secret holding 'accessKeyId' and 'secretKey'")
    .option('--size-gi <gi>', 'disk size', positiveInt)
    .addOption(new Option('--storage-class <class>').choices(['kv-standard', 'kv-premium-retain']))
    .option('--display-name <name>')
    .option('--os <os>', 'e.g. ubuntu-24.04')
    .option('-f, --file <file>', 'the body (JSON or YAML; flags win)')
    .action(
      async (
        name: string,
        opts: Record<string, unknown> & { source?: string; sourceType?: string; secret?: string; wait?: boolean; file?: string },
        cmd: Command,
      ) => {
        const s = await session(cmd);
        const type = opts.sourceType ?? (opts.source?.startsWith('docker://') ? 'registry' : opts.source?.startsWith('s3://') ? 's3' : 'http');
        const source =
          opts.source === undefined
            ? undefined
            : { type, url: opts.source, ...(opts.secret === undefined ? {} : { secretRef: { name: opts.secret } }) };
        const body = overlay(await readBodyFile(opts.file), {
          name,
          source,
          sizeGi: opts['sizeGi'],
          storageClass: opts['storageClass'],
          displayName: opts['displayName'],
          os: opts['os'],
        }) as Schemas['ImageImport'];
        const accepted =
          s.maybeTenant === undefined
            ? await s.api.POST('/v1/images', { body })
            : await s.api.POST('/v1/tenants/{tenant}/images', { params: { path: { tenant: s.tenant() } }, body });
        await s.operation(accepted.data, opts.wait === true);
      },
    );
  images
    .command('delete')
    .argument('<image>', 'platform/<name> or tenant/<name> (with --tenant)')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const s = await session(cmd);
      const { scope, name } = imageRef(ref);
      if (scope === 'platform') await s.api.DELETE('/v1/images/{image}', { params: { path: { image: name } } });
      else await s.api.DELETE('/v1/tenants/{tenant}/images/{image}', { params: { path: { tenant: s.tenant(), image: name } } });
    });

  // --- vms
  const vms = program.command('vms').description("A tenant's virtual machines.");
  listOptions(vms.command('list'))
    .option('--lab <lab>')
    .option('--owner <principalId>')
    .option('--state <state>')
    .action(async (opts: { max?: number; lab?: string; owner?: string; state?: Schemas['VmState'] }, cmd: Command) => {
      const s = await session(cmd);
      const filters = without({ lab: opts.lab, owner: opts.owner, state: opts.state });
      s.print(
        await listAll(
          (p) => s.api.GET('/v1/tenants/{tenant}/vms', { params: { path: { tenant: s.tenant() }, query: { ...filters, ...p, limit: 500 } } }),
          opts.max,
        ),
        VM_COLUMNS,
      );
    });
  getCommand(vms, '<vm>', VM_COLUMNS, (s, vm) => s.api.GET('/v1/tenants/{tenant}/vms/{vm}', { params: { path: { tenant: s.tenant(), vm } } }));
  waitOption(vms.command('create').argument('<name>'))
    .option('--image <image>', 'platform/<name> or tenant/<name>', imageRef)
    .option('--instance-type <type>')
    .option('--disk-gi <gi>', 'root disk size', positiveInt)
    .addOption(new Option('--storage-class <class>').choices(['kv-standard', 'kv-premium-retain']))
    .option('--ssh-key-file <file>', 'a public key file (repeat)', collect)
    .option('--arc', 'onboard to Azure Arc (Azure AD SSH sign-in)')
    .option('--owner <principalId>')
    .option('-f, --file <file>', 'the body (JSON or YAML; flags win)')
    .action(async (name: string, opts: Record<string, unknown> & { wait?: boolean; sshKeyFile?: string[]; file?: string }, cmd: Command) => {
      const s = await session(cmd);
      const body = overlay(await readBodyFile(opts.file), {
        name,
        image: opts['image'],
        instanceType: opts['instanceType'],
        diskGi: opts['diskGi'],
        storageClass: opts['storageClass'],
        sshPublicKeys: await sshKeys(opts.sshKeyFile),
        arc: opts['arc'] === true ? true : undefined,
        owner: opts['owner'],
      }) as Schemas['VmCreate'];
      await s.operation((await s.api.POST('/v1/tenants/{tenant}/vms', { params: { path: { tenant: s.tenant() } }, body })).data, opts.wait === true);
    });
  for (const action of ['start', 'stop', 'restart'] as const) {
    waitOption(vms.command(action).argument('<vm>')).action(async (vm: string, opts: { wait?: boolean }, cmd: Command) => {
      const s = await session(cmd);
      const path = { tenant: s.tenant(), vm };
      const res =
        action === 'start'
          ? await s.api.POST('/v1/tenants/{tenant}/vms/{vm}/start', { params: { path } })
          : action === 'stop'
            ? await s.api.POST('/v1/tenants/{tenant}/vms/{vm}/stop', { params: { path } })
            : await s.api.POST('/v1/tenants/{tenant}/vms/{vm}/restart', { params: { path } });
      await s.operation(res.data, opts.wait === true);
    });
  }
  waitOption(vms.command('delete').argument('<vm>')).action(async (vm: string, opts: { wait?: boolean }, cmd: Command) => {
    const s = await session(cmd);
    await s.operation(
      (await s.api.DELETE('/v1/tenants/{tenant}/vms/{vm}', { params: { path: { tenant: s.tenant(), vm } } })).data,
      opts.wait === true,
    );
  });

  // --- labs
  const rosterOptions = (cmd: Command) =>
    cmd
      .option('--roster <file.csv>', 'students from a Canvas gradebook or Moodle participants CSV export')
      .addOption(new Option('--roster-format <format>', 'the CSV export it is').choices(['auto', 'canvas', 'moodle']).default('auto'))
      .option('--login-domain <domain>', 'Canvas: mail domain of SIS Login IDs that are not addresses');
  async function rosterFrom(opts: { roster?: string; rosterFormat?: string; loginDomain?: string }) {
    if (opts.roster === undefined) return undefined;
    const roster = parseRoster(await readFile(opts.roster, 'utf8'), {
      format: (opts.rosterFormat ?? 'auto') as RosterFormat | 'auto',
      ...(opts.loginDomain === undefined ? {} : { loginDomain: opts.loginDomain }),
    });
    for (const s of roster.skipped) io.stderr.write(`${opts.roster}:${s.line}: left out: ${s.reason}\n`);
    io.stderr.write(`${opts.roster}: ${roster.students.length} students (${roster.format} export)\n`);
    return roster.students;
  }
  const labs = program.command('labs').description('Labs: one VM per student of a course, from a template.');
  listCommand(labs.command('list'), LAB_COLUMNS, (s, p) =>
    s.api.GET('/v1/tenants/{tenant}/labs', { params: { path: { tenant: s.tenant() }, query: { ...p, limit: 500 } } }),
  );
  getCommand(labs, '<lab>', LAB_COLUMNS, (s, lab) => s.api.GET('/v1/tenants/{tenant}/labs/{lab}', { params: { path: { tenant: s.tenant(), lab } } }));
  listOptions(labs.command('students').argument('<lab>'))
    .addOption(new Option('--status <status>').choices(['pending', 'provisioning', 'ready', 'failed', 'dropped']))
    .action(async (lab: string, opts: { max?: number; status?: Schemas['StudentStatus'] }, cmd: Command) => {
      const s = await session(cmd);
      const filters = without({ status: opts.status });
      s.print(
        await listAll(
          (p) =>
            s.api.GET('/v1/tenants/{tenant}/labs/{lab}/students', {
              params: { path: { tenant: s.tenant(), lab }, query: { ...filters, ...p, limit: 500 } },
            }),
          opts.max,
        ),
        STUDENT_COLUMNS,
      );
    });
  waitOption(
    rosterOptions(
      labs.command('create').argument('<name>').description('Create a lab; the roster from a CSV export, the rest from flags or --file.'),
    ),
  )
    .option('--display-name <name>')
    .option('--image <image>', 'platform/<name> or tenant/<name>', imageRef)
    .option('--instance-type <type>')
    .option('--disk-gi <gi>', 'root disk size', positiveInt)
    .addOption(new Option('--storage-class <class>').choices(['kv-standard', 'kv-premium-retain']))
    .option('--ssh-key-file <file>', "instructors' public key file (repeat)", collect)
    .option('--arc', 'Azure Arc onboarding: students sign in with Azure AD')
    .option('--instructor <email>', 'an instructor by email (repeat)', collect)
    .option('-f, --file <file>', 'the body (JSON or YAML; flags win)')
    .action(
      async (
        name: string,
        opts: Record<string, unknown> & { wait?: boolean; file?: string; sshKeyFile?: string[]; instructor?: string[] },
        cmd: Command,
      ) => {
        const s = await session(cmd);
        const fromFile = await readBodyFile(opts.file);
        const template = overlay((fromFile['template'] as Record<string, unknown> | undefined) ?? {}, {
          image: opts['image'],
          instanceType: opts['instanceType'],
          diskGi: opts['diskGi'],
          storageClass: opts['storageClass'],
          sshPublicKeys: await sshKeys(opts.sshKeyFile),
          arc: opts['arc'] === true ? true : undefined,
        });
        const body = overlay(fromFile, {
          name,
          displayName: opts['displayName'],
          template,
          instructors: opts.instructor?.map((email) => ({ email })),
          students: await rosterFrom(opts as { roster?: string; rosterFormat?: string; loginDomain?: string }),
        }) as Schemas['LabCreate'];
        await s.operation(
          (await s.api.POST('/v1/tenants/{tenant}/labs', { params: { path: { tenant: s.tenant() } }, body })).data,
          opts.wait === true,
        );
      },
    );
  waitOption(
    rosterOptions(labs.command('roster').argument('<lab>').description('Replace the roster (students not in it are dropped); prints the diff.')),
  ).action(async (lab: string, opts: { wait?: boolean; roster?: string; rosterFormat?: string; loginDomain?: string }, cmd: Command) => {
    const s = await session(cmd);
    const students = await rosterFrom(opts);
    if (students === undefined) throw new UsageError('give --roster <file.csv>');
    const { data } = await s.api.PUT('/v1/tenants/{tenant}/labs/{lab}/roster', { params: { path: { tenant: s.tenant(), lab } }, body: { students } });
    if (data === undefined) throw new Error('the API answered no body');
    if (opts.wait === true) {
      const done = await waitWithProgress(s.api, data.operation.id);
      s.print(s.output === 'table' ? { diff: data.diff, operation: { id: done.id, status: done.status } } : { ...data, operation: done }, []);
    } else s.print(data, []);
  });
  waitOption(labs.command('delete').argument('<lab>')).action(async (lab: string, opts: { wait?: boolean }, cmd: Command) => {
    const s = await session(cmd);
    await s.operation(
      (await s.api.DELETE('/v1/tenants/{tenant}/labs/{lab}', { params: { path: { tenant: s.tenant(), lab } } })).data,
      opts.wait === true,
    );
  });

  // --- operations
  const operations = program.command('operations').description('Long-running operations (202 answers).');
  listOptions(operations.command('list').description('Operations you may see, newest first (--tenant to narrow).'))
    .option('--kind <kind>')
    .option('--status <status>', 'queued|running|succeeded|failed|canceled (repeat)', collect)
    .option('--top-level', 'only operations without a parent')
    .action(async (opts: { max?: number; kind?: string; status?: Schemas['OperationStatus'][]; topLevel?: boolean }, cmd: Command) => {
      const s = await session(cmd);
      const filters = without({ tenant: s.maybeTenant, kind: opts.kind, status: opts.status, topLevel: opts.topLevel });
      s.print(
        await listAll((p) => s.api.GET('/v1/operations', { params: { query: { ...filters, ...p, limit: 500 } } }), opts.max ?? 50),
        OPERATION_COLUMNS,
      );
    });
  getCommand(operations, '<id>', OPERATION_COLUMNS, (s, id) => s.api.GET('/v1/operations/{operationId}', { params: { path: { operationId: id } } }));
  operations
    .command('wait')
    .argument('<id>')
    .description('Wait for an operation to finish, showing its progress (exit 1 when it failed or was canceled).')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const s = await session(cmd);
      s.print(await waitWithProgress(s.api, id), OPERATION_COLUMNS);
    });
  waitOption(operations.command('cancel').argument('<id>')).action(async (id: string, opts: { wait?: boolean }, cmd: Command) => {
    const s = await session(cmd);
    await s.operation((await s.api.POST('/v1/operations/{operationId}/cancel', { params: { path: { operationId: id } } })).data, opts.wait === true);
  });

  // --- webhooks
  const webhooks = program.command('webhooks').description("A tenant's webhook receivers (Standard Webhooks signatures).");
  listCommand(webhooks.command('list'), WEBHOOK_COLUMNS, (s, p) =>
    s.api.GET('/v1/tenants/{tenant}/webhooks', { params: { path: { tenant: s.tenant() }, query: { ...p, limit: 500 } } }),
  );
  getCommand(webhooks, '<id>', WEBHOOK_COLUMNS, (s, id) =>
    s.api.GET('/v1/tenants/{tenant}/webhooks/{id}', { params: { path: { tenant: s.tenant(), id } } }),
  );
  webhooks
    .command('create')
    .description('Register a receiver; the answer shows its signing secret once.')
    .requiredOption('--endpoint <url>', 'where events are POSTed (https://)')
    .requiredOption('--event <type>', 'an event type (repeat)', collect)
    .option('--description <text>')
    .action(async (opts: { endpoint: string; event: Schemas['WebhookEventType'][]; description?: string }, cmd: Command) => {
      const s = await session(cmd);
      const body = without({ url: opts.endpoint, events: opts.event, description: opts.description }) as Schemas['WebhookCreate'];
      s.print((await s.api.POST('/v1/tenants/{tenant}/webhooks', { params: { path: { tenant: s.tenant() } }, body })).data, []);
    });
  webhooks
    .command('delete')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const s = await session(cmd);
      await s.api.DELETE('/v1/tenants/{tenant}/webhooks/{id}', { params: { path: { tenant: s.tenant(), id } } });
    });

  return program;
}

/** Runs the CLI; returns the exit code. Problems print their code and detail; usage errors exit 2. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof CliExit) return error.exitCode;
  if (error instanceof UsageError || error instanceof RosterError) {
    io.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  const commander = error as { code?: unknown; exitCode?: unknown };
  if (typeof commander.code === 'string' && commander.code.startsWith('commander.') && typeof commander.exitCode === 'number') {
    // commander printed it already (help, version, usage errors).
    return commander.code === 'commander.helpDisplayed' || commander.code === 'commander.version' ? 0 : 2;
  }
  if (error instanceof LabplaneProblemError) {
    io.stderr.write(`error: ${error.code} (${error.status}): ${error.detail ?? error.title}\n`);
    for (const e of error.errors) io.stderr.write(`  ${e.field ?? ''}${e.field ? ': ' : ''}${e.message ?? ''}${e.reason ? ` (${e.reason})` : ''}\n`);
    return 1;
  }
  if (error instanceof TypeError && error.message === 'fetch failed') {
    // undici's network failure: the reason (ECONNREFUSED, ENOTFOUND, a certificate) is its cause.
    const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
    const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : 'network error';
    io.stderr.write(`error: cannot reach the API (${reason}); check --url or LABPLANE_URL\n`);
    return 1;
  }
  io.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
