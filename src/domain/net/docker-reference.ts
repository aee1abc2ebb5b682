import { endsInNumber } from './ip-address.js';
import { splitAuthority, urlNotAllowed, type RawAuthority } from './url-refusal.js';

/** A container image reference split the way the Docker / containers-image tooling splits it. */
export interface DockerReference {
  /** Registry authority as written (`registry.example.com:5000`), or undefined for Docker Hub. */
  readonly registry: RawAuthority | undefined;
  /** Repository path, with `library/` added for official Docker Hub images. */
  readonly repository: string;
  /** `:tag` and/or `@digest` suffix as written (may be empty). */
  readonly suffix: string;
}

/** Registry that serves `docker.io` references, and the host a pull actually contacts. */
export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_PULL_HOST = 'registry-1.docker.io';

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$/;

/**
 * Parses the part after `docker://`. Like distribution/reference, the first path component is a
 * registry host only when it contains `.` or `:`, is `localhost`, or has upper-case letters;
 * otherwise the reference is on Docker Hub (`ubuntu:22.04` → `docker.io/library/ubuntu:22.04`).
 * Stricter than Docker in one point: an all-numeric first component is read as a host.
 */
export function parseDockerReference(ref: string): DockerReference {
  if (ref.length === 0) throw urlNotAllowed('empty image reference');
  if (/[?#\s]/.test(ref)) throw urlNotAllowed('an image reference has no query, fragment or spaces');
  const slash = ref.indexOf('/');
  let registry: RawAuthority | undefined;
  let remainder = ref;
  if (slash >= 0) {
    const first = ref.slice(0, slash);
    // Numeric first components (`2130706433/img`) are Docker Hub names to Docker, but hosts to
    // naive parsers: read them as hosts so that they are vetted as addresses.
    const isRegistry = /[.:@[]/.test(first) || first === 'localhost' || first !== first.toLowerCase() || endsInNumber(first);
    if (isRegistry) {
      registry = splitAuthority(first);
      remainder = ref.slice(slash + 1);
    }
  }
  const at = remainder.indexOf('@');
  const digest = at >= 0 ? remainder.slice(at + 1) : undefined;
  const nameAndTag = at >= 0 ? remainder.slice(0, at) : remainder;
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.indexOf(':', lastSlash + 1);
  const repository = colon >= 0 ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = colon >= 0 ? nameAndTag.slice(colon + 1) : undefined;
  if (repository === '' || repository.length > 255 || !repository.split('/').every((c) => COMPONENT.test(c))) {
    throw urlNotAllowed('malformed image repository name');
  }
  if (tag !== undefined && !TAG.test(tag)) throw urlNotAllowed('malformed image tag');
  if (digest !== undefined && !DIGEST.test(digest)) throw urlNotAllowed('malformed image digest');
  const suffix = `${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`;
  const onHub = registry === undefined || ['docker.io', 'index.docker.io'].includes(registry.host.toLowerCase());
  return {
    registry,
    repository: onHub && !repository.includes('/') ? `library/${repository}` : repository,
    suffix,
  };
}
