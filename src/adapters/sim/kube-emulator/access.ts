import { KubeStatusError, qualifiedResource } from './errors.js';
import type { ResourceDef } from './resources.js';

/** Who may use the emulator, and for what (all optional: by default anyone may do anything). */
export interface AccessOptions {
  /** When set, a request without `Authorization: Bearer <token>` answers 401 Unauthorized. */
  bearerToken?: string;
  /** The user RBAC messages name; default `system:serviceaccount:labplane:labplane`. */
  user?: string;
  /** Store keys (`labs.labplane.io`, `secrets`) every verb on which answers 403 Forbidden, as RBAC would. */
  forbidden?: string[];
}

/** What a request asks for, in RBAC terms. */
export interface AccessRequest {
  verb: string;
  def: ResourceDef;
  namespace?: string;
  name?: string;
}

/** RBAC verb of a request: `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`. */
export function verbOf(method: string, named: boolean, watch: boolean): string {
  switch (method) {
    case 'GET':
      return named ? 'get' : watch ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

/** Authentication by bearer token and a deny list standing in for RBAC, with the Status bodies a real server sends. */
export class AccessControl {
  private readonly forbidden: Set<string>;
  constructor(private readonly opts: AccessOptions = {}) {
    this.forbidden = new Set(opts.forbidden ?? []);
  }

  /** Throws 401 Unauthorized unless the configured token (if any) was presented. */
  authenticate(authorization: string | undefined): void {
    if (this.opts.bearerToken === undefined || authorization === `Bearer ${this.opts.bearerToken}`) return;
    throw new KubeStatusError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Unauthorized',
      reason: 'Unauthorized',
      code: 401,
    });
  }

  /** Throws 403 Forbidden, worded like the RBAC authorizer, for a denied resource. */
  authorize(r: AccessRequest): void {
    if (!this.forbidden.has(r.def.key)) return;
    const user = this.opts.user ?? 'system:serviceaccount:labplane:labplane';
    const what = r.name === undefined ? qualifiedResource(r.def) : `${qualifiedResource(r.def)} "${r.name}"`;
    const scope = r.namespace === undefined ? 'at the cluster scope' : `in the namespace "${r.namespace}"`;
    const message = `${what} is forbidden: User "${user}" cannot ${r.verb} resource "${r.def.plural}" in API group "${r.def.group}" ${scope}`;
    const details: Record<string, string> = {
      kind: r.def.plural,
      ...(r.def.group ? { group: r.def.group } : {}),
      ...(r.name === undefined ? {} : { name: r.name }),
    };
    throw new KubeStatusError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason: 'Forbidden',
      details,
      code: 403,
    });
  }
}
