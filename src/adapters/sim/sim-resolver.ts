import { createMemoryResolver, type MemoryResolver } from '../net/memory-resolver.js';

/**
 * Public names the simulated cluster's SSRF guard can resolve (the embedded default makes no DNS
 * queries, so image imports are decided the same way on every machine). Unknown names do not
 * resolve and are refused; a few names point inside on purpose, to show the guard at work.
 */
export const SIMULATED_DNS: Readonly<Record<string, readonly string[]>> = {
  'cloud-images.ubuntu.com': ['185.125.190.40', '2620:2d:4000:1::17'],
  'download.fedoraproject.org': ['38.145.60.20'],
  'images.example.com': ['93.184.216.34'],
  'images.example.org': ['93.184.216.35'],
  'mirror.example.edu': ['129.97.1.10'],
  'registry-1.docker.io': ['54.236.113.205'],
  'quay.io': ['3.224.9.1'],
  'ghcr.io': ['140.82.112.33'],
  's3.amazonaws.com': ['52.216.1.2'],
  'minio.example.edu': ['129.97.1.20'],
  'intranet-mirror.example.com': ['10.20.30.40'],
  'metadata-alias.example.com': ['169.254.169.254'],
  'rebind.example.com': ['93.184.216.34', '192.168.0.10'],
};

/** A resolver over `SIMULATED_DNS` (plus `extra`). */
export function createSimulatedResolver(extra: Readonly<Record<string, readonly string[]>> = {}): MemoryResolver {
  return createMemoryResolver({ ...SIMULATED_DNS, ...extra });
}
