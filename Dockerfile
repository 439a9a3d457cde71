# ringstore image: multi-stage (docker-node BestPractices). Build:
#   docker build -t ringstore:local --build-arg RINGSTORE_COMMIT=$(git rev-parse --short HEAD) .
# Run one node (nodeId, members and secrets come from RINGSTORE_* variables or a mounted config):
#   docker run --init -p 9000:9000 -v rs-data:/data --env-file compose.env \
#     -e RINGSTORE_NODE_ID=n1 -e RINGSTORE_REPLICATION_FACTOR=1 -e RINGSTORE_REPLICATION_READ_QUORUM=1 \
#     -e RINGSTORE_REPLICATION_WRITE_QUORUM=1 -e RINGSTORE_CLUSTER_MEMBERS=n1@127.0.0.1:9100/z1/1 ringstore:local

# --- build: all dependencies + tsc -> dist/ ---------------------------------------------------
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` runs tsc, which needs the sources copied below; the build stage
# never loads classic-level, so its install script is not needed here either.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only ------------------------------------------------------
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts because `prepare` (tsc) is a dev-only step. classic-level ships prebuilt
# binaries for linux x64/arm64 (glibc); only if none loads are build tools installed, in this
# stage only, to compile it from source.
RUN npm ci --omit=dev --ignore-scripts \
 && (node -e "require('classic-level')" \
     || (apt-get update \
         && apt-get install -y --no-install-recommends python3 make g++ \
         && npm rebuild classic-level \
         && node -e "require('classic-level')"))

# --- runtime ---------------------------------------------------------------------------------
FROM node:24-slim
ARG RINGSTORE_COMMIT=unknown
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    RINGSTORE_COMMIT=${RINGSTORE_COMMIT} \
    RINGSTORE_CONFIG=/etc/ringstore/ringstore.json
WORKDIR /app
# Application files stay owned by root (read-only for the node user); only /data is writable.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Container defaults as a config *file* (listen on all interfaces, data in /data), so that
# RINGSTORE_* variables and flags still override them; mount another file here to replace it.
COPY config/docker.json /etc/ringstore/ringstore.json
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
# 9000: S3 API; 9100: node-to-node RPC and admin API.
EXPOSE 9000 9100
# The slim image has no curl. `health` exits 2 when down, and Docker reserves exit code 2,
# hence `|| exit 1`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/bin/sh", "-c", "node dist/cli/main.js health || exit 1"]
# node directly, never `npm start`, so SIGTERM reaches the process; run with --init (or
# `init: true` in compose) so PID 1 reaps zombies and forwards signals.
CMD ["node", "dist/cli/main.js", "server"]
