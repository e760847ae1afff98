# syntax=docker/dockerfile:1
# The mcp-warden image. One entrypoint, `mcp-warden`, with the subcommands the chart and the
# injector use: `operator` (the chart's Deployment) and `sidecar` (what the injector adds to pods).
# The TypeScript sources are compiled to JavaScript in a build stage, so the runtime starts without
# Node's type stripper (ADR 0652); the image holds that JavaScript, package.json and the production
# dependencies.
#
#   docker build -t ghcr.io/mcp-warden/mcp-warden:0.1.0 .
#
# test/image/image.test.ts builds the same file tree (the .dockerignore'd context, these COPY and RUN
# lines) and runs the entrypoint from it.

ARG NODE_MAJOR=24

# Production dependencies only, from the lockfile; no install scripts run.
FROM docker.io/library/node:${NODE_MAJOR}-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# The sources compiled with the project's TypeScript (relative .ts imports rewritten to .js), plus the
# Redis store's Lua scripts, which the compiled modules read next to themselves.
FROM docker.io/library/node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY cli ./cli
COPY kube ./kube
COPY operator ./operator
COPY policy ./policy
COPY program ./program
COPY sidecar ./sidecar
COPY telemetry ./telemetry
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json && cp policy/ratelimit/*.lua dist/policy/ratelimit/

# Runtime: distroless Node 24 (no shell, no package manager), user 65532 ("nonroot"), which is the
# uid the chart and the injector set. Nothing is written at run time, so the root filesystem may be
# read-only.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./
USER 65532:65532
# A young generation of at most 2 × 8 MiB instead of V8's 2 × 32 MiB: the same throughput for a proxy's
# short-lived objects at some 60 MiB less resident memory under load (ADR 0108).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=8", "/app/cli/mcp-warden.js"]
