import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PLATFORM, type ImageOwner, type ImageRef, type ImageSource, type ImageSpec } from '../../src/domain/images/image.js';
import type { ImageRepository, ImageUsage } from '../../src/domain/images/image-repository.js';

export interface ImageContractFixture {
  readonly repo: ImageRepository & ImageUsage;
  /** Two tenants that exist (sorted). */
  readonly tenants: readonly [string, string];
  /** Puts a VM built from `image` in `tenant`, as the VM side would. */
  vmBuiltFrom(tenant: string, vm: string, image: ImageRef): Promise<void>;
  /** Makes the next write fail as an API server outage would. */
  unavailableNext(): void;
  cleanup(): Promise<void>;
}

export function imageSpec(owner: ImageOwner, overrides: Partial<ImageSpec> = {}): ImageSpec {
  return {
    owner,
    name: `img-${randomBytes(3).toString('hex')}`,
    displayName: 'Ubuntu 24.04',
    os: 'ubuntu-24.04',
    source: { type: 'http', url: 'https://images.example.com/noble.img' },
    sizeGi: 5,
    storageClass: 'kv-premium-retain',
    ...overrides,
  };
}

/** The behaviour every ImageRepository keeps; `makeFixture` gives a fresh repository per test. */
export function imageRepositoryContract(name: string, makeFixture: () => Promise<ImageContractFixture>): void {
  describe(`ImageRepository contract: ${name}`, () => {
    let fx: ImageContractFixture;
    let repo: ImageRepository & ImageUsage;
    let mine: ImageOwner;
    let theirs: ImageOwner;
    const errorOf = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );

    beforeEach(async () => {
      fx = await makeFixture();
      repo = fx.repo;
      mine = { scope: 'tenant', tenant: fx.tenants[0] };
      theirs = { scope: 'tenant', tenant: fx.tenants[1] };
    });
    afterEach(async () => {
      await fx?.cleanup();
    });

    it('create answers the image as written, importing; get and list see it at once', async () => {
      const s = imageSpec(mine, { operationId: 'op-1' });
      const image = await repo.create(s);
      expect(image).toMatchObject({
        scope: 'tenant',
        tenant: fx.tenants[0],
        name: s.name,
        displayName: 'Ubuntu 24.04',
        os: 'ubuntu-24.04',
        source: s.source,
        sizeGi: 5,
        storageClass: 'kv-premium-retain',
        phase: 'Importing',
        progress: 0,
        importRestarts: 0,
        operationId: 'op-1',
      });
      expect(image.failureReason).toBeUndefined();
      expect(Number.isNaN(Date.parse(image.createdAt))).toBe(false);
      expect((await repo.get(mine, s.name))?.name).toBe(s.name);
      expect((await repo.list(mine)).map((i) => i.name)).toEqual([s.name]);
    });

    it('every kind of source comes back as written; optional fields left out stay absent', async () => {
      const sources: ImageSource[] = [
        { type: 'http', url: 'https://images.example.com/a.qcow2' },
        { type: 'registry', url: 'docker://quay.io/containerdisks/fedora:40' },
        { type: 's3', url: 's3://bucket/disk.img', secretRef: { name: 's3-creds' } },
      ];
      for (const source of sources) {
        const { os: _os, ...s } = imageSpec(mine, { source });
        expect((await repo.create(s)).source).toEqual(source);
        const read = await repo.get(mine, s.name);
        expect(read?.source).toEqual(source);
        expect(read?.os).toBeUndefined();
        expect(read?.operationId).toBeUndefined();
      }
    });

    it('platform images and each tenant’s images are apart', async () => {
      const platform = imageSpec(PLATFORM, { storageClass: 'kv-standard' });
      const own = imageSpec(mine);
      const other = imageSpec(theirs);
      expect(await repo.create(platform)).toMatchObject({ scope: 'platform', name: platform.name, storageClass: 'kv-standard' });
      expect((await repo.get(PLATFORM, platform.name))?.tenant).toBeUndefined();
      await repo.create(own);
      await repo.create(other);
      expect((await repo.list(PLATFORM)).map((i) => i.name)).toContain(platform.name);
      expect((await repo.list(PLATFORM)).map((i) => i.name)).not.toContain(own.name);
      expect((await repo.list(mine)).map((i) => i.name)).toEqual([own.name]);
      expect(await repo.get(mine, platform.name)).toBeUndefined();
      expect(await repo.get(mine, other.name)).toBeUndefined();
      expect(await repo.get(PLATFORM, own.name)).toBeUndefined();
    });

    it('list is sorted by name', async () => {
      for (const n of ['c', 'a', 'b']) await repo.create(imageSpec(mine, { name: `img-${n}` }));
      expect((await repo.list(mine)).map((i) => i.name)).toEqual(['img-a', 'img-b', 'img-c']);
    });

    it('a create retried by the same operation answers the image; any other create of the name is IMAGE_EXISTS', async () => {
      const s = imageSpec(mine, { operationId: 'op-a' });
      await repo.create(s);
      expect(await repo.create(s)).toMatchObject({ name: s.name, operationId: 'op-a' });
      expect(await errorOf(repo.create({ ...s, operationId: 'op-b', displayName: 'Another' }))).toMatchObject({
        kind: 'conflict',
        code: 'IMAGE_EXISTS',
      });
      const { operationId: _o, ...anonymous } = s;
      expect(await errorOf(repo.create(anonymous))).toMatchObject({ kind: 'conflict', code: 'IMAGE_EXISTS' });
      expect((await repo.get(mine, s.name))?.displayName).toBe('Ubuntu 24.04');
    });

    it('a tenant image of a tenant that does not exist is TENANT_NOT_FOUND', async () => {
      const owner: ImageOwner = { scope: 'tenant', tenant: 'no-such-tenant' };
      expect(await errorOf(repo.create(imageSpec(owner)))).toMatchObject({ kind: 'not_found', code: 'TENANT_NOT_FOUND' });
      expect(await repo.list(owner)).toEqual([]);
    });

    it('delete answers true and the image is gone from the next read; then, and for an absent image, false', async () => {
      const s = imageSpec(mine);
      await repo.create(s);
      expect(await repo.delete(mine, s.name)).toBe(true);
      expect(await repo.get(mine, s.name)).toBeUndefined();
      expect(await repo.list(mine)).toEqual([]);
      expect(await repo.delete(mine, s.name)).toBe(false);
      expect(await repo.delete(PLATFORM, 'no-such-image')).toBe(false);
    });

    it('vmsUsing counts the VMs built from an image: in the tenant for tenant images, everywhere for platform ones', async () => {
      const [a, b] = fx.tenants;
      await fx.vmBuiltFrom(a, 'vm-a', { scope: 'tenant', name: 'mine' });
      await fx.vmBuiltFrom(a, 'vm-b', { scope: 'platform', name: 'ubuntu' });
      await fx.vmBuiltFrom(b, 'vm-c', { scope: 'platform', name: 'ubuntu' });
      await fx.vmBuiltFrom(b, 'vm-d', { scope: 'tenant', name: 'mine' });
      await expect.poll(() => repo.vmsUsing(PLATFORM, 'ubuntu'), { timeout: 5000, interval: 20 }).toBe(2);
      expect(await repo.vmsUsing(mine, 'mine')).toBe(1);
      expect(await repo.vmsUsing(PLATFORM, 'mine')).toBe(0);
      expect(await repo.vmsUsing(mine, 'ubuntu')).toBe(0);
    });

    it('an API server outage is UpstreamUnavailableError, and nothing is created', async () => {
      const s = imageSpec(mine);
      fx.unavailableNext();
      expect(await errorOf(repo.create(s))).toMatchObject({ kind: 'upstream_unavailable' });
      expect(await repo.get(mine, s.name)).toBeUndefined();
      expect((await repo.create(s)).name).toBe(s.name);
    });
  });
}
