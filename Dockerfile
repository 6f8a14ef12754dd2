# usher container image.
#   docker build -t usher:dev .
#   docker run --rm -p 8080:8080 --read-only --tmpfs /tmp -e REDIS_URL=... usher:dev
# podman builds it the same way; offline (no registry), pass a local Node image as NODE_IMAGE.
# scripts/image-check.sh builds and runs it that way in CI (docs/deploy.md).
#
# The runtime stage holds only what `node dist/main.js` needs: dist/ (with the Lua scripts and
# the admin console the build puts there), production node_modules, package.json and the
# baseline plans file. Files belong to root and are read-only for the service user, so the
# image works with readOnlyRootFilesystem. There is no HEALTHCHECK: Kubernetes probes
# /health/live and /health/ready (see k8s/base/deployment.yaml).

ARG NODE_IMAGE=node:22-bookworm-slim

# ---- builder: install all deps, compile, then drop dev deps -------------------------------------
FROM ${NODE_IMAGE} AS builder
WORKDIR /app

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# The admin console's sources, bundled into dist/console/web by npm run build.
COPY console ./console
COPY scripts/build-console.mjs ./scripts/build-console.mjs
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# ---- runtime -------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime

ENV NODE_ENV=production \
    PORT=8080 \
    USHER_PLANS_FILE=/app/config/plans.yaml

# A fixed numeric uid/gid so Kubernetes can verify runAsNonRoot and match runAsUser: 10001.
RUN groupadd --system --gid 10001 usher \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin usher

WORKDIR /app
COPY --from=builder /app/package.json ./package.json
COPY --from=builder /app/node_modules ./node_modules
COPY --from=builder /app/dist ./dist
COPY config/plans.yaml ./config/plans.yaml

USER 10001:10001
EXPOSE 8080
# Node runs as PID 1 without an init: the service installs its own SIGTERM handler (stop accepting,
# drain in-flight requests, close Redis), so the default-ignore of signals by PID 1 does not apply.
STOPSIGNAL SIGTERM
# The V8 flags of `npm run start:prod` (package.json; a test keeps the two alike): a 32 MB young
# generation semi-space (docs/performance.md, "Garbage collection").
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
