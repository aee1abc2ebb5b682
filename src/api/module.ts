/**
 * A slice of the API over one area's use cases: REST handlers keyed by the contract's
 * operationIds, and optionally GraphQL type definitions (using `extend type Query` etc.) and
 * resolvers. `buildApp` merges the modules it is given; a module never registers routes itself.
 */
export interface ApiModule {
  readonly name: string;
  // Handlers take fastify's request and reply; their shapes come from the generated contract types.
  readonly handlers: Readonly<Record<string, (...args: never[]) => unknown>>;
  readonly graphql?: {
    readonly typeDefs: string;
    readonly resolvers: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    /** Mercurius loaders (batched field resolvers, per type and field), to avoid N+1 lookups. */
    readonly loaders?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  };
}

/** All handlers of all modules; an operationId handled twice is a programming error. */
export function mergeHandlers(modules: readonly ApiModule[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of modules) {
    for (const [id, h] of Object.entries(m.handlers)) {
      if (Object.hasOwn(out, id)) throw new TypeError(`operationId ${id} is handled by two modules`);
      out[id] = h;
    }
  }
  return out;
}

/** Resolvers of all modules merged per type (Query, Mutation, Subscription, object types). */
export function mergeResolvers(modules: readonly ApiModule[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of modules) {
    for (const [type, fields] of Object.entries(m.graphql?.resolvers ?? {})) {
      const target = (out[type] ??= {});
      for (const [field, r] of Object.entries(fields)) {
        if (Object.hasOwn(target, field)) throw new TypeError(`GraphQL ${type}.${field} is resolved by two modules`);
        target[field] = r;
      }
    }
  }
  return out;
}

/** Loaders of all modules merged per type; a field loaded by two modules is a programming error. */
export function mergeLoaders(modules: readonly ApiModule[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const m of modules) {
    for (const [type, fields] of Object.entries(m.graphql?.loaders ?? {})) {
      const target = (out[type] ??= {});
      for (const [field, l] of Object.entries(fields)) {
        if (Object.hasOwn(target, field)) throw new TypeError(`GraphQL loader ${type}.${field} is defined by two modules`);
        target[field] = l;
      }
    }
  }
  return out;
}
