# LoRA Manager: one image for `serve` and `worker` (see compose.yaml and README "When one machine is not enough").
#
#   docker build -t lora-manager .
#   docker run -p 8000:8000 -e API_KEY=… -v lm-data:/data lora-manager          # embedded: SQLite, in-process queue
#
# Stage 1 installs everything, builds the web app and compiles the native safetensors header reader (node-gyp needs
# python3, make and g++, which the full Debian image has). Stage 2 keeps only what runs, as the unprivileged `node`
# user. The steps are checked by packages/server/test/integration/deployment.test.ts.

# ---- build ------------------------------------------------------------------------------------------------------
FROM node:22-bookworm AS build
WORKDIR /app
# Manifests first, so `npm ci` is cached until a dependency changes. The native reader's sources come with them:
# the root postinstall compiles it.
COPY package.json package-lock.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/server/package.json packages/server/
COPY packages/web/package.json packages/web/
COPY packages/server/native packages/server/native
RUN npm ci --no-audit --no-fund
COPY . .
# The web app, served by `serve` from WEB_DIST_DIR.
RUN npm run build
# Compile the native reader again against the final tree, and fail the build if it did not compile (the app would
# silently fall back to the slower JavaScript reader).
RUN node packages/server/native/build.mjs && test -n "$(find packages/server/native/safetensors-header/build -name '*.node')"
# Only runtime dependencies go to the final image (the server runs its TypeScript through tsx, a dependency).
RUN npm prune --omit=dev --no-audit --no-fund

# ---- runtime ----------------------------------------------------------------------------------------------------
FROM node:22-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/data \
    OUTPUT_DIR=/outputs \
    WEB_DIST_DIR=/app/packages/web/dist
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data /outputs && chown node:node /data /outputs
USER node
VOLUME ["/data", "/outputs"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "packages/server/bin/lora-manager.mjs"]
CMD ["serve"]
