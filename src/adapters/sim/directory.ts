import type { Directory, DirectoryMatch, DirectoryUser } from '../../domain/lti/ports.js';
import { uuidV5 } from '../../domain/shared/ids.js';

/** Addresses of the simulated world (the university and its partners): only listed users resolve. */
const SIM_DOMAINS = /[@.]labplane\.example$/;

/** Mail domain of the simulated university's directory. */
export const SIM_DIRECTORY_DOMAIN = 'uni.labplane.example';

const FIRST = [
  'Ada', 'Alan', 'Barbara', 'Claude', 'Dennis', 'Edsger', 'Frances', 'Grace', 'Hedy', 'Ivan',
  'John', 'Ken', 'Leslie', 'Margaret', 'Niklaus', 'Ole', 'Peter', 'Radia', 'Shafi', 'Tim',
  'Ursula', 'Vint', 'Whitfield', 'Xavier', 'Yukihiro', 'Zhores', 'Anita', 'Bjarne', 'Carol', 'Donald',
  'Elena', 'Fernando', 'Guido', 'Hal', 'Irene', 'James', 'Katherine', 'Linus', 'Mary', 'Noam',
]; // prettier-ignore
const LAST = [
  'Lovelace', 'Turing', 'Liskov', 'Shannon', 'Ritchie', 'Dijkstra', 'Allen', 'Hopper', 'Lamarr', 'Sutherland',
  'McCarthy', 'Thompson', 'Lamport', 'Hamilton', 'Wirth', 'Dahl', 'Naur', 'Perlman', 'Goldwasser', 'Berners-Lee',
  'Franklin', 'Cerf', 'Diffie', 'Leroy', 'Matsumoto', 'Alferov', 'Borg', 'Stroustrup', 'Shaw', 'Knuth',
  'Garcia', 'Corbato', 'Rossum', 'Abelson', 'Greif', 'Gosling', 'Johnson', 'Torvalds', 'Bartik', 'Chomsky',
]; // prettier-ignore

/** A person of the simulated university (their directory account, and the LMS member built on it). */
export interface SimPerson {
  /** Stable short key, e.g. `instructor`, `ta`, `learner-07`, `net-learner-2`. */
  readonly key: string;
  readonly name: string;
  readonly email: string;
}

function person(key: string, index: number): SimPerson {
  const first = FIRST[index % FIRST.length] ?? 'Sam';
  const last = LAST[(index * 7 + 3) % LAST.length] ?? 'Doe';
  return { key, name: `${first} ${last}`, email: `${`${first}.${last}`.toLowerCase().replace(/[^a-z.-]/g, '')}@${SIM_DIRECTORY_DOMAIN}` };
}

/** Everyone with an account in the simulated directory (deterministic). */
export const SIM_PEOPLE: readonly SimPerson[] = [
  person('instructor', 0),
  person('ta', 1),
  ...Array.from({ length: 30 }, (_, i) => person(`learner-${String(i + 1).padStart(2, '0')}`, i + 2)),
  ...Array.from({ length: 5 }, (_, i) => person(`net-learner-${i + 1}`, i + 32)),
];

/** The directory user of a simulated person: a stable object id derived from the key. */
export function simDirectoryUser(p: SimPerson): DirectoryUser {
  return { id: uuidV5(`sim-directory:${p.key}`), displayName: p.name, email: p.email, userPrincipalName: p.email };
}

/** Users of the simulated directory. */
export const SIM_DIRECTORY_USERS: readonly DirectoryUser[] = SIM_PEOPLE.map(simDirectoryUser);

export interface SimDirectory extends Directory {
  /** Adds (or replaces, by id) a user. */
  add(user: DirectoryUser): void;
  /** Every lookup's addresses, in order (for tests). */
  readonly lookups: readonly (readonly string[])[];
}

export interface SimDirectoryOptions {
  /**
   * Addresses outside the simulated world's domains (`*.labplane.example`) resolve to a guest user
   * with a stable id (derived from the address), so an LMS other than the simulated one can be tried
   * against the embedded default; addresses in those domains resolve only when listed (the demo's
   * unresolvable learners stay unresolvable). Default false.
   */
  readonly guestsOutsideDomain?: boolean;
}

/**
 * The embedded default's directory: a fixed set of demo users (the simulated LMS's course members,
 * except those meant to be unresolvable), matched on mail or userPrincipalName like Microsoft Graph.
 */
export function createSimDirectory(users: readonly DirectoryUser[] = SIM_DIRECTORY_USERS, options: SimDirectoryOptions = {}): SimDirectory {
  const all = new Map<string, DirectoryUser>(users.map((u) => [u.id, u]));
  const guest = (address: string): DirectoryMatch =>
    options.guestsOutsideDomain === true && /^[^@\s]+@[^@\s]+$/.test(address) && !SIM_DOMAINS.test(address)
      ? { id: uuidV5(`sim-directory-guest:${address}`), email: address, userPrincipalName: address }
      : 'not-found';
  const lookups: (readonly string[])[] = [];
  return {
    lookups,
    add(user) {
      all.set(user.id, user);
    },
    lookup(addresses, signal) {
      signal?.throwIfAborted();
      lookups.push([...addresses]);
      const out = new Map<string, DirectoryMatch>();
      for (const raw of addresses) {
        const address = raw.trim().toLowerCase();
        if (address === '' || out.has(address)) continue;
        const hits = [...all.values()].filter((u) => u.email?.toLowerCase() === address || u.userPrincipalName?.toLowerCase() === address);
        out.set(address, hits.length === 0 ? guest(address) : hits.length > 1 ? 'ambiguous' : (hits[0] as DirectoryUser));
      }
      return Promise.resolve(out);
    },
  };
}
