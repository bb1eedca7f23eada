# db-access-webhook container image. Build: docker build -t db-access-webhook:0.1.0 .   (see docs/deployment.md)
#
# Two stages on the Node 24 major the project pins (package.json engines, the `node` devDependency):
# 1. deps: installs production dependencies only, from the lockfile, with no install scripts.
# 2. runtime: distroless Node 24 (no shell, no package manager), the production node_modules, src/ and package.json.
# The TypeScript in src/ runs directly on Node 24's type stripping: there is no build step and no dev dependency.

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
COPY package.json ./
COPY src ./src
# 65532 is distroless `nonroot`. Numeric, so Kubernetes can verify runAsNonRoot; the chart runs the same UID/GID.
# Nothing is written to disk: the pod runs with readOnlyRootFilesystem and no writable volume.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/nodejs/bin/node", "src/server/main.ts"]
