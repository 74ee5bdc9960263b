# One image for both halves: `dbproxy operator` and `dbproxy proxy` (the operator's pods run the same
# image). Build: docker build -t dbproxy:dev .   (make image)
# Node: the current LTS line, pinned by tag; bump NODE_IMAGE deliberately.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

FROM ${NODE_IMAGE} AS build
# A compiler for the native I/O core (node-gyp; the image's own Node headers, no download).
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY contract ./contract
COPY proxy ./proxy
COPY operator ./operator
RUN npm run build && bin/build-native && test -f proxy/native/build/Release/dbproxy_io.node

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin/dbproxy ./bin/dbproxy
# Only the product code (tsconfig.build.json also lists e2e/, absent from this context).
COPY --from=build /src/dist/contract ./dist/contract
COPY --from=build /src/dist/proxy ./dist/proxy
COPY --from=build /src/dist/operator ./dist/operator
# The native I/O core, where the proxy looks for it (proxy/native/build/Release from dist/proxy/src/io).
COPY --from=build /src/proxy/native/build/Release/dbproxy_io.node ./proxy/native/build/Release/dbproxy_io.node
# 65532: the conventional "nonroot" uid (distroless); the chart's securityContext expects it.
USER 65532:65532
EXPOSE 5432 9187 8080
ENTRYPOINT ["node", "/app/bin/dbproxy"]
CMD ["--help"]
