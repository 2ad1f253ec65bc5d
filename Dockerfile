# Keyway server image. Build context: the repository after `pnpm release:check` (or the test command), which writes
# release/keyway-server.tgz with the same script the install test (e2e/install.test.ts) installs and runs it from.
#   docker build -t keyway .
#   docker run -p 3003:3003 -v keyway-data:/data -e KEYWAY_SERVER_URL=https://keyway.example.com keyway

# 1. Install the packed server and its production dependencies, exactly as the install test does.
FROM node:20-bookworm-slim AS install
WORKDIR /app
COPY release/keyway-server.tgz /tmp/keyway-server.tgz
RUN npm install --omit=dev --no-audit --no-fund /tmp/keyway-server.tgz && npm cache clean --force

# 2. Runtime: the installed tree only, run by plain node as the image's unprivileged `node` user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=3003 \
    KEYWAY_HOST=0.0.0.0 \
    KEYWAY_DB_PATH=/data/db.json
WORKDIR /app
COPY --from=install --chown=root:root /app /app
# The JSON store and its generated secrets.json live in the volume (with PostgreSQL only secrets, if generated).
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 3003
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3003) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "node_modules/@keyway/server/dist/bin.js"]
