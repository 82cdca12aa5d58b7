# One image for every service of the stack, built with the same install
# script as the native path (scripts/install-deps.sh), so what runs in a
# container is what the tests exercise. docker-compose.yml picks the
# command per service. Processes run as the unprivileged user `app`.
# Two stages: `build` compiles with the build tools and installs the Node
# tools the stack runs with (npm ci --omit=dev: no test tools); the runtime
# image gets the binaries and those Node tools, and no compiler or npm.
# BASE_IMAGE: any Debian 12 image (tests/compose/up.sh builds one with
# debootstrap where no image registry is reachable).
# Behind a TLS-intercepting proxy, give npm the proxy's CA bundle at build
# time: podman build -v /path/ca.crt:/run/extra-ca.crt:ro (nothing is kept
# in the image).
ARG BASE_IMAGE=debian:12-slim

FROM ${BASE_IMAGE} AS build
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /app
# Dependencies first, for layer caching: the install script and the npm lockfile.
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY tools/package.json tools/package-lock.json tools/
RUN if [ -s /run/extra-ca.crt ]; then export NODE_EXTRA_CA_CERTS=/run/extra-ca.crt; fi \
    && scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" all

FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /app
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --runtime && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /home/app app \
    && mkdir -p /state && chown app:app /state
COPY . .
COPY --from=build /app/build/bin build/bin
COPY --from=build /app/tools/node_modules tools/node_modules
COPY --from=build /app/contracts/build contracts/build
# Mount points of the per-service credential volumes (docker-compose.yml):
# owned by app, so a new volume mounted there is too. After the COPYs, so
# the dependency layer above stays cached.
RUN mkdir -p /auth/broker /auth/nats /auth/simulator /auth/detector /auth/chainlogger \
        /auth/gateway /auth/notifier && chown -R app:app /auth
USER app
ENV STATE_DIR=/state
