# One image for every service of the stack, built with the same install
# script as the native path (scripts/install-deps.sh), so what runs in a
# container is what the tests exercise. docker-compose.yml picks the
# command per service. Processes run as the unprivileged user `app`.
FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
WORKDIR /app
# Dependencies first, for layer caching: the install script and the npm lockfile.
COPY scripts/install-deps.sh scripts/install-deps.sh
COPY tools/package.json tools/package-lock.json tools/
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make -j"$(nproc)" all \
    && useradd --system --create-home --home-dir /home/app app \
    && mkdir -p /state && chown app:app /state
USER app
ENV STATE_DIR=/state
