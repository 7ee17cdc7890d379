# Guarita — production image. Multi-stage: compile with dev dependencies, ship production ones only.
# No certificates are baked in: mount the secrets (server certificate, client CAs, CRLs) as files.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
USER node
EXPOSE 8443 9090
# V8 flags: src/runtime-flags.ts says why (a test keeps this line equal to it).
ENTRYPOINT ["node", "--min-semi-space-size=16", "dist/src/cli.js"]
CMD ["--config", "/etc/guarita/routes.yaml"]
