# syntax=docker/dockerfile:1
# The mcp-warden image. One entrypoint, `mcp-warden`, with the subcommands the chart and the
# injector use: `operator` (the chart's Deployment) and `sidecar` (what the injector adds to pods).
# Node 24 runs the TypeScript sources as they are (type stripping), so nothing is compiled: the image
# holds the runtime sources, package.json and the production dependencies.
#
#   docker build -t ghcr.io/mcp-warden/mcp-warden:0.1.0 .
#
# test/image/image.test.ts builds the same file tree (the .dockerignore'd context, these COPY lines,
# this npm ci) and runs the entrypoint from it.

ARG NODE_MAJOR=24

# Production dependencies only, from the lockfile; no install scripts run.
FROM docker.io/library/node:${NODE_MAJOR}-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Runtime: distroless Node 24 (no shell, no package manager), user 65532 ("nonroot"), which is the
# uid the chart and the injector set. Nothing is written at run time, so the root filesystem may be
# read-only.
FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY cli ./cli
COPY kube ./kube
COPY operator ./operator
COPY policy ./policy
COPY sidecar ./sidecar
USER 65532:65532
ENTRYPOINT ["/nodejs/bin/node", "/app/cli/mcp-warden.ts"]
