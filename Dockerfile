# The distci image: one image for every component (`distci frontend`, `distci worker <kind>`, `distci dev`).
# It runs the TypeScript sources through tsx (a runtime dependency), like `npx distci` on a clone.
FROM node:20-bookworm-slim
# git: the git-checkout worker; ca-certificates: https remotes; tini: signals reach node (SIGTERM drains);
# bubblewrap: the exec-shell worker's step sandbox (see docker-compose.yml for what it needs of Docker).
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates tini bubblewrap \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/distci
COPY package.json package-lock.json ./
COPY packages/common/package.json packages/common/
COPY packages/store-zookeeper/package.json packages/store-zookeeper/
COPY packages/store-embedded/package.json packages/store-embedded/
COPY packages/store-s3/package.json packages/store-s3/
COPY packages/store-directory/package.json packages/store-directory/
COPY packages/storage/package.json packages/storage/
COPY packages/testkit/package.json packages/testkit/
COPY packages/workers/package.json packages/workers/
COPY packages/frontend/package.json packages/frontend/
COPY packages/cli/package.json packages/cli/
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# Workers write workspaces to /tmp; run as the unprivileged `node` user of the base image.
RUN mkdir -p /var/lib/distci && chown node:node /var/lib/distci
USER node
ENV DISTCI_DATA_DIR=/var/lib/distci DISTCI_HOST=0.0.0.0
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/distci/packages/cli/bin/distci.js"]
CMD ["--help"]
