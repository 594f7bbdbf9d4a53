# hostlock as a container: Node 24 LTS (slim), non-root, the compiled app and its production
# dependencies only. Every command here is an npm script or a scripts/*.mjs file that CI runs
# (test/integration/production-install.test.ts, test/unit/deploy-files.test.ts), so the image
# cannot drift from what is tested. PostgreSQL is external: DATABASE_URL is required.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci's postinstall applies the pinned postgres.js patch (scripts/patch-postgres.mjs)
COPY scripts/patch-postgres.mjs ./scripts/patch-postgres.mjs
RUN npm ci --omit=optional --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    HOSTLOCK_OPS_ADDR=0.0.0.0:9464 \
    HOSTLOCK_DATA_DIR=/home/node/.hostlock \
    LOG_FORMAT=json
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/patch-postgres.mjs ./scripts/patch-postgres.mjs
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund
COPY drizzle ./drizzle
COPY scripts/healthcheck.mjs ./scripts/healthcheck.mjs
COPY --from=build /app/dist ./dist
USER node
# 3000: Slack, REST API, /healthz, /readyz · 9464: /metrics and readiness details (keep it internal)
EXPOSE 3000 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "scripts/healthcheck.mjs"]
CMD ["node", "dist/main.js"]
