import { describe, expect, it } from 'vitest';
import { createSimDirectory, SIM_DIRECTORY_DOMAIN, SIM_DIRECTORY_USERS } from '../../src/adapters/sim/directory.js';
import { demoCourses } from '../../src/adapters/sim/lms/data.js';

describe('simulated directory and the simulated LMS demo courses', () => {
  it('resolves every demo member except the visiting students and the one who hides their email', async () => {
    const dir = createSimDirectory();
    const [cs101, net210] = demoCourses();
    const emails = [...(cs101?.members ?? []), ...(net210?.members ?? [])].flatMap((m) => (m.email === undefined ? [] : [m.email]));
    const found = await dir.lookup(emails);
    const unresolved = [...found].filter(([, v]) => typeof v === 'string').map(([k]) => k);
    expect(unresolved.sort()).toEqual(['vera.visitor@partner.labplane.example', 'victor.guest@partner.labplane.example']);
    expect(cs101?.members.filter((m) => m.email === undefined).map((m) => m.userId)).toEqual(['sim-private-1']);
    expect(cs101?.members).toHaveLength(35);
    expect(net210?.members.filter((m) => m.roles.some((r) => r.endsWith('#Learner')))).toHaveLength(5);
  });

  it('matches mail or UPN case-insensitively, keys results by the lower-cased address, and says when ambiguous', async () => {
    const first = SIM_DIRECTORY_USERS[0];
    const dir = createSimDirectory();
    dir.add({ id: '00000000-0000-4000-8000-000000000001', email: 'twin@uni.labplane.example' });
    dir.add({ id: '00000000-0000-4000-8000-000000000002', userPrincipalName: 'TWIN@uni.labplane.example' });
    const r = await dir.lookup([` ${first?.email?.toUpperCase() ?? ''} `, 'twin@uni.labplane.example', 'nobody@uni.labplane.example']);
    expect(r.get(first?.email ?? '')).toEqual(first);
    expect(r.get('twin@uni.labplane.example')).toBe('ambiguous');
    expect(r.get('nobody@uni.labplane.example')).toBe('not-found');
  });

  it('has unique, stable ids and addresses', () => {
    expect(new Set(SIM_DIRECTORY_USERS.map((u) => u.id)).size).toBe(SIM_DIRECTORY_USERS.length);
    expect(new Set(SIM_DIRECTORY_USERS.map((u) => u.email)).size).toBe(SIM_DIRECTORY_USERS.length);
    expect(SIM_DIRECTORY_USERS[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe('simulated directory guests', () => {
  it('resolves addresses outside its domain to stable guests only when asked, and never unlisted ones inside it', async () => {
    const strict = createSimDirectory();
    expect((await strict.lookup(['someone@lms.example.org'])).get('someone@lms.example.org')).toBe('not-found');
    const open = createSimDirectory(undefined, { guestsOutsideDomain: true });
    const first = (await open.lookup(['Someone@LMS.example.org'])).get('someone@lms.example.org');
    const again = (await open.lookup(['someone@lms.example.org'])).get('someone@lms.example.org');
    expect(first).toMatchObject({ email: 'someone@lms.example.org' });
    expect(again).toEqual(first);
    expect((await open.lookup([`nobody@${SIM_DIRECTORY_DOMAIN}`])).get(`nobody@${SIM_DIRECTORY_DOMAIN}`)).toBe('not-found');
    expect((await open.lookup(['vera.visitor@partner.labplane.example'])).get('vera.visitor@partner.labplane.example')).toBe('not-found');
  });
});
