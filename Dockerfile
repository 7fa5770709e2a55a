# sf-cm-bridge: one image, every role (api, subscriber, worker, all) chosen by the command.
FROM node:24-slim

ENV NODE_ENV=production
WORKDIR /app

COPY package.json package-lock.json ./
# tsx is a runtime dependency: the TypeScript sources run as they are, no build step.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# Only the bridge itself: packages/ holds development packages (the sandbox), which
# `npm ci --omit=dev` above skips and the image leaves out.
COPY bin ./bin
COPY src ./src
COPY config ./config
COPY tsconfig.json ./

# Non-root at run time; tsx keeps its compile cache in the writable temp directory.
USER node
EXPOSE 8080

ENTRYPOINT ["node", "bin/sf-cm-bridge.js"]
CMD ["all"]
