# sf-cm-bridge: one image, every role (api, subscriber, worker, all) chosen by the command.
# Two stages: the first compiles src/ to dist/ with the dev dependencies (TypeScript); the second
# holds only dist/, the bin, the example config and the production dependencies: no TypeScript,
# tsx, esbuild, sandbox or tests.

FROM node:24-slim AS build
WORKDIR /build
# The workspace packages (the sandbox) stay out: the bridge's build does not need them.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:bridge

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` builds from sources, which this stage does not have (dist/ comes next).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY config ./config

USER node
EXPOSE 8080

# Every role reports to Redis every 5 s; `health` fails when no process of this container reported
# in the last 15 s (a hung process, or Redis lost). Needs the role's config (BRIDGE_CONFIG).
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "bin/sf-cm-bridge.js", "health"]

ENTRYPOINT ["node", "bin/sf-cm-bridge.js"]
CMD ["all"]
