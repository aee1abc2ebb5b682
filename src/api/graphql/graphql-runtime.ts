import { createRequire } from 'node:module';
import type * as GraphQL from 'graphql';

/**
 * graphql's CommonJS build, the one mercurius requires. Functions that take mercurius' schema
 * (validate, introspection) must come from it: graphql refuses a schema made by its other (ESM)
 * build, which a bundler-style resolver (vitest) may hand an `import`.
 */
export const graphqlRuntime = createRequire(import.meta.url)('graphql') as typeof GraphQL;
