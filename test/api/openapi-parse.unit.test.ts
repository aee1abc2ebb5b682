import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadOpenApi, OPENAPI_PATH } from '../../src/api/openapi-spec.js';

describe('the contract is parsed by js-yaml (fast) as the yaml package would parse it', () => {
  it('gives the same document as yaml.parse for openapi/openapi.yaml', () => {
    expect(loadOpenApi()).toStrictEqual(parse(readFileSync(OPENAPI_PATH, 'utf8')));
  });

  it('reads YAML 1.2 core: a date and a "yes" stay strings, hex and octal are numbers, a duplicated key is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lp-openapi-'));
    try {
      const file = join(dir, 'a.yaml');
      writeFileSync(file, 'openapi: 3.1.0\nday: 2026-12-07\nflag: yes\nhex: 0x1F\noctal: 0o17\nnothing: ~\npaths: {}\n');
      expect(loadOpenApi(file)).toStrictEqual({ openapi: '3.1.0', day: '2026-12-07', flag: 'yes', hex: 31, octal: 15, nothing: null, paths: {} });
      writeFileSync(file, 'openapi: 3.1.0\npaths: {}\npaths: {}\n');
      expect(() => loadOpenApi(file)).toThrow(/duplicated mapping key/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
