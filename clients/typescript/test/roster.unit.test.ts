import { describe, expect, it } from 'vitest';
import { parseRoster, RosterError } from '../src/roster.js';

// A Canvas gradebook export: the sortable name, Canvas' ids, the SIS login, the section, then one
// column per assignment; the second row holds the points possible; the Test Student is listed.
const CANVAS = [
  '\uFEFF"Student","ID","SIS User ID","SIS Login ID","Integration ID","Section","Lab 1 (5531)","Final Score"',
  '"    Points Possible","","","","","","10.00","(read only)"',
  '"Lovelace, Ada","101","S101","Ada.Lovelace@Uni.Example","","CS 201","9.00","90"',
  '"Turing, Alan","102","S102","aturing","","CS 201","8.00","80"',
  '"Hopper, Grace","103","S103","","","CS 201","",""',
  '"Student, Test","104","","","","CS 201","",""',
  '"Lovelace, Ada","101","S101","ada.lovelace@uni.example","","CS 201 (lab)","9.00","90"',
].join('\r\n');

// A Moodle participants download: names, the address, roles and groups.
const MOODLE = [
  'First name,Last name,Email address,Roles,Groups,Last access to course',
  'Edsger,Dijkstra,ewd@uni.example,Student,Group A,2 days',
  'Barbara,Liskov,liskov@uni.example,"Student, Non-editing teacher",No groups,Never',
  'Olga,Prof,olga@uni.example,Teacher,No groups,1 hour',
  'Ken,Thompson,not-an-address,Student,No groups,Never',
].join('\n');

describe('roster CSV exports', () => {
  it('Canvas: SIS Login ID as the address (or login@domain), "Last, First" turned round, points row and Test Student left out', () => {
    const roster = parseRoster(CANVAS, { loginDomain: 'uni.example' });
    expect(roster.format).toBe('canvas');
    expect(roster.students).toEqual([
      { email: 'Ada.Lovelace@Uni.Example', displayName: 'Ada Lovelace' },
      { email: 'aturing@uni.example', displayName: 'Alan Turing' },
    ]);
    expect(roster.skipped).toEqual([
      { line: 5, reason: 'Hopper, Grace has no SIS Login ID' },
      { line: 6, reason: "Canvas' Test Student" },
      { line: 7, reason: 'ada.lovelace@uni.example is listed twice' },
    ]);
  });

  it('Canvas: a bare login without --login-domain is left out with the reason', () => {
    const roster = parseRoster(CANVAS);
    expect(roster.students.map((s) => s.email)).toEqual(['Ada.Lovelace@Uni.Example']);
    expect(roster.skipped).toContainEqual({ line: 4, reason: "SIS Login ID 'aturing' is not an address (give --login-domain)" });
    expect(() => parseRoster(CANVAS, { loginDomain: 'not a domain' })).toThrow(RosterError);
  });

  it('Moodle: students only (by the Roles column), names joined, bad addresses left out', () => {
    const roster = parseRoster(MOODLE);
    expect(roster.format).toBe('moodle');
    expect(roster.students).toEqual([
      { email: 'ewd@uni.example', displayName: 'Edsger Dijkstra' },
      { email: 'liskov@uni.example', displayName: 'Barbara Liskov' },
    ]);
    expect(roster.skipped).toEqual([
      { line: 4, reason: "role 'Teacher' is not Student" },
      { line: 5, reason: "'not-an-address' is not an email address" },
    ]);
    // Without a Roles column every row is a student.
    expect(parseRoster('First name,Last name,Email address\nA,B,ab@uni.example\n').students).toEqual([
      { email: 'ab@uni.example', displayName: 'A B' },
    ]);
  });

  it('refuses a CSV of neither export, a format that does not match, and more students than a lab takes', () => {
    expect(() => parseRoster('name,mail\nA,a@uni.example\n')).toThrow(/neither a Canvas gradebook export/);
    expect(() => parseRoster(MOODLE, { format: 'canvas' })).toThrow(/not that of a canvas export/);
    expect(() => parseRoster('')).toThrow(RosterError);
    const many = ['First name,Last name,Email address', ...Array.from({ length: 2001 }, (_, i) => `A,B,s${i}@uni.example`)].join('\n');
    expect(() => parseRoster(many)).toThrow(/at most 2000/);
  });
});
