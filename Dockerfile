# db-access-webhook container image. Build: docker build -t db-access-webhook:0.1.0 .   (see docs/deployment.md)
#
# Three stages on the Node 24 major the project pins (package.json engines, the `node` devDependency):
# 1. build: compiles the server to JavaScript (tsconfig.build.json). The image runs that, not the .ts sources:
#    Node's type stripper would otherwise stay loaded and hold about 28 MB of RSS (BENCHMARKS.md, finding 5).
# 2. deps: installs production dependencies only, from the lockfile, with no install scripts.
# 3. runtime: distroless Node 24 (no shell, no package manager), the production node_modules, dist/ and package.json.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# The compiler is a dev dependency. Nothing from this stage but dist/ reaches the image.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
# tsc -p tsconfig.build.json, on this image's Node 24 (without install scripts the `node` devDependency adds none).
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
ENTRYPOINT ["/nodejs/bin/node", "dist/server/main.js"]
