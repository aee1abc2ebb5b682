import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AAD_SSH_LOGIN_EXTENSION, type ArcMachineStatus } from '../../src/domain/identity/arc-machine.js';
import type { ArcMachinesPort, ExtensionPoll } from '../../src/domain/identity/arc-machines-port.js';
import { NotFoundError, ValidationError } from '../../src/domain/shared/errors.js';

/** What a backend (simulated Azure, or the ARM server behind the real adapter) lets the suite arrange and observe. */
export interface ArcContractFixture {
  readonly port: ArcMachinesPort;
  /** A new adapter over the same backend, as another process after a crash would build. */
  freshPort(): ArcMachinesPort;
  seedMachine(name: string, status: Exclude<ArcMachineStatus, 'Unknown'>, tags?: Record<string, string>): void;
  /** The next extension install on the machine fails with this ARM error. */
  failNextExtension(machine: string, code: string, message: string): void;
  /** Lets time pass between two polls (simulated clock; nothing over the wire). */
  tick(): void;
  /** Extension PUTs the backend accepted (each starts an operation). */
  extensionPuts(): number;
  /** Read requests the backend received. */
  reads(): number;
  /** The canonical resource id of a machine. */
  resourceIdOf(name: string): string;
  cleanup(): Promise<void>;
}

const EXT = AAD_SSH_LOGIN_EXTENSION.name;

async function pollUntilDone(fx: ArcContractFixture, machine: string, state: string, port = fx.port): Promise<ExtensionPoll> {
  let resume = state;
  for (let i = 0; i < 20; i += 1) {
    fx.tick();
    const r = await port.pollExtension(machine, EXT, resume);
    if (r.status !== 'InProgress') return r;
    resume = r.resumeState;
  }
  throw new Error('the extension install never finished');
}

export function arcMachinesContract(name: string, makeFixture: () => Promise<ArcContractFixture>): void {
  describe(`ArcMachinesPort contract: ${name}`, () => {
    let fx: ArcContractFixture;
    beforeEach(async () => {
      fx = await makeFixture();
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    it('a machine that does not exist reads as undefined', async () => {
      expect(await fx.port.getMachine('vm-absent')).toBeUndefined();
    });

    it('a machine reads with its canonical resource id, status, agent version and tags', async () => {
      fx.seedMachine('vm-olga-1', 'Connected', { 'labplane-tenant': 'os-2025', 'labplane-vm-id': '9b1f0d1e-3f57-4c1a-9a43-0c9b1c3f2e11' });
      const m = await fx.port.getMachine('vm-olga-1');
      expect(m).toMatchObject({
        name: 'vm-olga-1',
        resourceId: fx.resourceIdOf('vm-olga-1'),
        status: 'Connected',
        tags: { 'labplane-tenant': 'os-2025', 'labplane-vm-id': '9b1f0d1e-3f57-4c1a-9a43-0c9b1c3f2e11' },
      });
      expect(m?.agentVersion).toMatch(/^\d+\./);
      expect(Number.isNaN(Date.parse(m?.lastStatusChange ?? ''))).toBe(false);
    });

    it('Disconnected and Error statuses read as such', async () => {
      fx.seedMachine('vm-a', 'Disconnected');
      fx.seedMachine('vm-b', 'Error');
      expect((await fx.port.getMachine('vm-a'))?.status).toBe('Disconnected');
      expect((await fx.port.getMachine('vm-b'))?.status).toBe('Error');
    });

    it('listing the resource group answers every machine sorted by name, in one read', async () => {
      for (const n of ['vm-c', 'vm-a', 'vm-b']) fx.seedMachine(n, 'Connected');
      const before = fx.reads();
      const all = await fx.port.listMachines();
      expect(all.map((m) => m.name)).toEqual(['vm-a', 'vm-b', 'vm-c']);
      expect(fx.reads() - before).toBe(1);
    });

    it('an extension install runs as one operation: begin, poll until Succeeded, then the extension reads Succeeded', async () => {
      fx.seedMachine('vm-1', 'Connected');
      const state = await fx.port.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
      expect(typeof state).toBe('string');
      const done = await pollUntilDone(fx, 'vm-1', state);
      expect(done).toMatchObject({ status: 'Succeeded' });
      expect(done.error).toBeUndefined();
      expect(await fx.port.getExtension('vm-1', EXT)).toMatchObject({
        name: EXT,
        publisher: 'Microsoft.Azure.ActiveDirectory',
        type: 'AADSSHLoginForLinux',
        state: 'Succeeded',
        provisioningState: 'Succeeded',
      });
      expect(fx.extensionPuts()).toBe(1);
    });

    it('a fresh adapter given the stored resume state follows the same operation and sends no second PUT', async () => {
      fx.seedMachine('vm-1', 'Connected');
      const stored = await fx.port.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
      const afterCrash = fx.freshPort();
      const done = await pollUntilDone(fx, 'vm-1', stored, afterCrash);
      expect(done.status).toBe('Succeeded');
      expect(fx.extensionPuts()).toBe(1);
    });

    it('polling a finished install again answers the same outcome without another request', async () => {
      fx.seedMachine('vm-1', 'Connected');
      const done = await pollUntilDone(fx, 'vm-1', await fx.port.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION));
      const reads = fx.reads();
      expect(await fx.freshPort().pollExtension('vm-1', EXT, done.resumeState)).toMatchObject({ status: 'Succeeded' });
      expect(fx.reads()).toBe(reads);
    });

    it("an install that fails ends Failed with ARM's reason, and the extension reads Failed", async () => {
      fx.seedMachine('vm-1', 'Connected');
      fx.failNextExtension('vm-1', 'ExtensionOperationFailed', 'The handler for AADSSHLoginForLinux exited with code 51.');
      const done = await pollUntilDone(fx, 'vm-1', await fx.port.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION));
      expect(done.status).toBe('Failed');
      expect(done.error).toContain('ExtensionOperationFailed');
      expect((await fx.port.getExtension('vm-1', EXT))?.state).toBe('Failed');
    });

    it('installing on a machine that does not exist throws NotFoundError ARC_MACHINE_NOT_FOUND and starts nothing', async () => {
      const err = await fx.port.beginInstallExtension('vm-ghost', AAD_SSH_LOGIN_EXTENSION).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect(err).toMatchObject({ code: 'ARC_MACHINE_NOT_FOUND' });
      expect(fx.extensionPuts()).toBe(0);
    });

    it('a resume state of another machine, or garbage, is refused with ValidationError', async () => {
      fx.seedMachine('vm-1', 'Connected');
      fx.seedMachine('vm-2', 'Connected');
      const state = await fx.port.beginInstallExtension('vm-1', AAD_SSH_LOGIN_EXTENSION);
      await expect(fx.port.pollExtension('vm-2', EXT, state)).rejects.toBeInstanceOf(ValidationError);
      await expect(fx.port.pollExtension('vm-1', EXT, '{"v":1}')).rejects.toBeInstanceOf(ValidationError);
      await expect(fx.port.pollExtension('vm-1', EXT, 'not json')).rejects.toBeInstanceOf(ValidationError);
    });

    it('an extension never installed, or on a missing machine, reads as undefined', async () => {
      fx.seedMachine('vm-1', 'Connected');
      expect(await fx.port.getExtension('vm-1', EXT)).toBeUndefined();
      expect(await fx.port.getExtension('vm-ghost', EXT)).toBeUndefined();
    });

    it('deleting a machine removes it, and deleting it again succeeds', async () => {
      fx.seedMachine('vm-1', 'Connected');
      await fx.port.deleteMachine('vm-1');
      expect(await fx.port.getMachine('vm-1')).toBeUndefined();
      await expect(fx.port.deleteMachine('vm-1')).resolves.toBeUndefined();
      await expect(fx.port.deleteMachine('vm-never-there')).resolves.toBeUndefined();
    });
  });
}
