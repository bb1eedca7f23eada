# db-access-webhook container image. Build: docker build -t db-access-webhook:0.1.0 .   (see docs/deployment.md)
#
# Three stages on the Node 24 major the project pins (package.json engines, the `node` devDependency):
# 1. build: bundles the server with esbuild (`npm run build`, scripts/build.ts). The image runs the bundle, not the
#    .ts sources: it holds about 80 MB less memory (scripts/build.ts and BENCHMARKS.md, finding 5, say why).
# 2. deps: installs production dependencies only, from the lockfile, with no install scripts.
# 3. runtime: distroless Node 24 (no shell, no package manager), the bundle, and package.json. The production
#    node_modules comes along for the licence files of what the bundle contains; the bundle itself needs none of it.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The bundler is a dev dependency. Nothing from this stage but dist/ reaches the image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=dev: no tap, typescript, ajv... in the image. --ignore-scripts: no dependency runs code at build time.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# 65532 is distroless `nonroot`. Numeric, so Kubernetes can verify runAsNonRoot; the chart runs the same UID/GID.
# Nothing is written to disk: the pod runs with readOnlyRootFilesystem and no writable volume.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/nodejs/bin/node", "dist/main.mjs"]
