import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { buildAreas, buildOrder, defineArea, type Platform } from '../../src/main/area.js';

const silent = pino({ level: 'silent' });
const platform = { config: {}, logger: silent } as unknown as Platform;
const area = (name: string, needs: string[] = []) => ({ name, needs });

describe('areas', () => {
  it('are built after the areas they need, otherwise in the order listed', () => {
    const order = buildOrder([
      area('tenants', ['webhooks']),
      area('images'),
      area('vms', ['images']),
      area('labs', ['images', 'vms']),
      area('webhooks'),
    ]);
    expect(order.map((a) => a.name)).toEqual(['webhooks', 'tenants', 'images', 'vms', 'labs']);
  });

  it('refuse a need that is not an area, and areas that need each other', () => {
    expect(() => buildOrder([area('vms', ['images'])])).toThrow('area vms needs images, which is not an area');
    expect(() => buildOrder([area('a', ['b']), area('b', ['c']), area('c', ['a'])])).toThrow('areas need each other: a -> b -> c -> a');
  });

  it('see the exports of the areas they need, under their names', async () => {
    const images = defineArea({ name: 'images', needs: [], build: async () => ({ exports: { locator: 'L' } }) });
    const vms = defineArea({
      name: 'vms',
      needs: ['images'],
      build: async (ctx: Pick<Platform, 'config'> & { images: { locator: string } }) => ({
        exports: { seen: ctx.images.locator, config: ctx.config },
      }),
    });
    const mounted = await buildAreas([vms, images], platform, silent);
    expect(mounted.order).toEqual(['images', 'vms']);
    expect(mounted.built.get('vms')?.exports).toEqual({ seen: 'L', config: {} });
  });

  it('may not be named like a platform field (their exports sit beside them)', async () => {
    const named = defineArea({ name: 'logger', needs: [], build: async () => ({ exports: {} }) });
    await expect(buildAreas([named], platform, silent)).rejects.toThrow('area logger is named like a platform field');
  });

  it('close what was built, in reverse, when one fails to build', async () => {
    const closed: string[] = [];
    const ok = (name: string, needs: string[] = []) =>
      defineArea({ name, needs, build: async () => ({ exports: {}, close: async () => void closed.push(name) }) });
    const failing = defineArea({
      name: 'labs',
      needs: ['vms'],
      build: async () => {
        throw new Error('no labs');
      },
    });
    await expect(buildAreas([ok('images'), ok('vms', ['images']), failing], platform, silent)).rejects.toThrow('no labs');
    expect(closed).toEqual(['vms', 'images']);
  });
});
