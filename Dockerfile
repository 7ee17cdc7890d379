# Guarita — production image. Multi-stage: compile with dev dependencies, ship production ones only.
# No certificates are baked in: mount the secrets (server certificate, client CAs, CRLs) as files.
# Node.js 24, the current LTS (package.json `engines` keeps >= 20: CI runs the tests on 20 and 24).

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
# src/dev (dev PKI, mock authorization server, mock bank, demo) is development code: not shipped.
RUN npx tsc -p tsconfig.build.json && rm -rf dist/src/dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
# The PCM spool (docs/pcm.md, `pcm.spoolDir`), writable by the image's user; mount a per-replica
# persistent volume here (a StatefulSet's volumeClaimTemplates: deploy/kubernetes).
RUN mkdir -p /var/lib/guarita/pcm && chown 1000:1000 /var/lib/guarita/pcm
# A numeric uid:gid (the base image's `node` user), so that Kubernetes can enforce runAsNonRoot.
USER 1000:1000
EXPOSE 8443 9090
# V8 flags: src/runtime-flags.ts says why (a test keeps this line equal to it).
ENTRYPOINT ["node", "--min-semi-space-size=16", "dist/src/cli.js"]
CMD ["--config", "/etc/guarita/routes.yaml"]
