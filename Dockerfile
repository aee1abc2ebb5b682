# syntax=docker/dockerfile:1
# labplane control plane: API (`node dist/main/server.js`, the default) and worker
# (`node dist/main/worker.js`) from one image. Without settings it runs the embedded default
# (simulated Kubernetes and Azure), which is what `docker compose --profile demo up demo` uses.
# Pin NODE_IMAGE to a digest (node:24-bookworm-slim@sha256:...) for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The README's install command: `npm ci` insists on other platforms' optional binaries that some
# registry mirrors lack; `npm install` still installs exactly the locked versions.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-build-assets.mjs ./scripts/
COPY src ./src
COPY openapi ./openapi
# tsc plus the non-TypeScript files modules read next to themselves (cloud-init templates).
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
# Owned by root and read-only to the process: nothing under /app is written at run time.
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# Read at run time: the REST contract (served and used for validation), the KubeVirt/CDI schemas and
# the Lab CRD the simulated cluster validates against (found next to package.json).
COPY openapi ./openapi
COPY schemas ./schemas
COPY deploy/crds ./deploy/crds
# The image's `node` user by number, so Kubernetes can verify runAsNonRoot.
USER 1000:1000
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# --max-semi-space-size=8 (MiB): the API's young generation capped; Node 24 lets it grow to ~126 MiB
# held and keeps it, which was a third of the API's RSS (README, Performance: Memory, for the
# figures and the throughput cost).
# --no-allocation-site-pretenuring: V8 would otherwise, from what survived during start-up, allocate
# objects of some per-request sites straight in the old generation; each request's young objects they
# point to then survive every scavenge (minor GC 5-9 µs per /healthz instead of 0.4-1, README,
# Performance: "Garbage collection"). npm run bench, bench/api-memory.ts --dist and npm run deploy:smoke
# read these flags from here (bench/support/image-settings.ts).
CMD ["node", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "dist/main/server.js"]
