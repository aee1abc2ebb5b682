import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/main/config.js';

describe('image settings', () => {
  it('default to https-only imports, a 2 s follow interval and 5 s simulated imports', () => {
    expect(loadConfig({}).images).toEqual({ httpAllowedHosts: [], s3Endpoint: undefined, importPollMs: 2000, simImportDurationMs: 5000 });
  });

  it('read the http allow-list, the S3 endpoint and the timings from the environment', () => {
    const images = loadConfig({
      IMAGE_HTTP_ALLOWED_HOSTS: 'Mirror.Example.edu, 10.0.0.5',
      IMAGE_S3_ENDPOINT: 'https://minio.example.edu:9000',
      IMAGE_IMPORT_POLL_MS: '250',
      SIM_IMPORT_DURATION_MS: '0',
    }).images;
    expect(images).toEqual({
      httpAllowedHosts: ['mirror.example.edu', '10.0.0.5'],
      s3Endpoint: 'https://minio.example.edu:9000',
      importPollMs: 250,
      simImportDurationMs: 0,
    });
  });

  it('refuse malformed values naming the setting', () => {
    for (const [name, value] of [
      ['IMAGE_HTTP_ALLOWED_HOSTS', 'http://mirror.example.edu'],
      ['IMAGE_S3_ENDPOINT', 'https://minio.example.edu/bucket'],
      ['IMAGE_IMPORT_POLL_MS', '5'],
      ['SIM_IMPORT_DURATION_MS', '-1'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), name).toThrow(ConfigError);
      expect(() => loadConfig({ [name]: value }), name).toThrow(new RegExp(name));
    }
  });
});
