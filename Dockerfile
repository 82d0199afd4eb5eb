# churn-service container image.
#
#   podman build --format docker -t churn-service .      (docker build -t churn-service .)
#
# --format docker keeps the HEALTHCHECK: the OCI image format has no field for it, and podman/buildah
# drop it with a warning unless they write a Docker-format image.
#
# NODE_IMAGE must be a glibc Debian image with node and npm on PATH (onnxruntime-node ships glibc
# binaries only, so no Alpine). scripts/container-smoke.sh builds a local stand-in for the default when
# no registry is reachable.
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- build: all dependencies, then TypeScript -> dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# onnxruntime-node's install script would download CUDA libraries (and fail offline); the CPU binaries
# the service needs ship in the package. package.json's allowScripts denies it to npm 11.19 and later;
# the variable skips it for an older npm that still runs dependency scripts.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret
# (--secret id=npm_ca,src=/path/ca.pem): npm uses it, and it lands in no layer. Without it, nothing changes.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/vendor-assets.mjs scripts/copy-migrations.mjs ./scripts/
COPY src ./src
# Compiles to dist/, copies the prediction log's SQL migrations beside their store and ReDoc's browser
# bundle to dist/assets, so the runtime stage needs no redoc package.
RUN npm run build

# ---- prod-deps: production dependencies only ----
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
# onnxruntime-node carries prebuilt binaries for every OS and CPU (~290 MB); only this image's
# linux/<arch> directory is ever loaded, so the others are removed.
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --omit=dev --no-audit --no-fund \
 && arch="$(node -p process.arch)" \
 && ort=node_modules/onnxruntime-node/bin/napi-v6 \
 && test -f "$ort/linux/$arch/onnxruntime_binding.node" \
 && find "$ort" -mindepth 2 -maxdepth 2 -type d ! -path "$ort/linux/$arch" -exec rm -rf {} + \
 && find "$ort" -mindepth 1 -maxdepth 1 -type d ! -name linux -exec rm -rf {} +

# ---- runtime ----
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A fixed numeric UID/GID, so that Kubernetes' runAsNonRoot can verify it and the manifests in
# deploy/k8s/ can name the same ids (test/deploy/k8s-manifests.test.ts checks they match).
RUN groupadd --system --gid 10001 churn \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin churn
WORKDIR /app
# Owned by root and not writable by the service user: the app never writes to its own files.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY models ./models
# V8's compiled code for every module, made here once and read by every start (src/cli.ts says why).
# Node keeps it per user id, so the service user makes it; then it is root's, like the rest of /app
# (a start that cannot add to it reads it all the same).
ENV NODE_COMPILE_CACHE=/app/compile-cache
RUN mkdir /app/compile-cache && chown 10001:10001 /app/compile-cache
USER 10001:10001
RUN node dist/cli.js --version >/dev/null
USER root
RUN chown -R root:root /app/compile-cache && chmod -R a+rX,go-w /app/compile-cache
# The one directory the service writes: the embedded prediction log (DATA_DIR). A volume, so it stays
# writable under a read-only root filesystem; owned by the service user, so a new volume is too.
RUN mkdir /app/data && chown 10001:10001 /app/data
ENV DATA_DIR=/app/data
VOLUME /app/data
USER 10001:10001
EXPOSE 8000
# No curl in the slim image: node's fetch asks the readiness route on the port the service listens on.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT || 8000}/health/ready`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (exec form, no npm, no shell, and no entrypoint script of the base image in
# between), so SIGTERM reaches the server, which drains and exits 0. The flag is the one `npm start` uses.
ENTRYPOINT ["node", "--max-semi-space-size=8", "dist/server.js"]
CMD []
