# keyproof's API and workers (docker-compose.yml builds this image once and runs it three ways).
# Two stages: `npm run build` compiles the TypeScript in a build stage with the dev dependencies; the runtime
# stage gets production dependencies and dist/ only (no src/, no tsx), so bin/keyproof.js runs the
# compiled JavaScript, as an `npm install -g keyproof` does.
FROM node:20-bookworm AS build
WORKDIR /build
ENV PUPPETEER_SKIP_DOWNLOAD=true
COPY package.json package-lock.json .puppeteerrc.cjs ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
RUN npm run build

FROM node:20-bookworm

# Debian's Chromium renders screenshots and PDFs; puppeteer must never download its own browser.
# poppler-utils and tesseract-ocr are what the render checks use to read PDFs and pictures back.
ENV PUPPETEER_SKIP_DOWNLOAD=true \
    KEYPROOF_CHROMIUM=/usr/bin/chromium \
    NODE_ENV=production
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core poppler-utils tesseract-ocr ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json .puppeteerrc.cjs ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY templates ./templates
COPY schemas ./schemas
COPY --from=build /build/dist ./dist

# Shared bundles and run state (a volume in docker-compose.yml).
RUN mkdir -p /data && chown node:node /data
# The render pool always passes --no-sandbox, so Chromium runs as this unprivileged user.
USER node
ENTRYPOINT ["node", "bin/keyproof.js"]
CMD ["--help"]
