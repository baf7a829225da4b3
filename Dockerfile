# syntax=docker/dockerfile:1
# The iota container image: a Rust build stage, then a slim Debian runtime with python3 (the
# rule workers' interpreter), the iota binary, and the bundled rule pack at
# /usr/share/iota/rules. It runs as an unprivileged user (uid/gid 10001) and works with a
# read-only root filesystem: iota writes only under /var/lib/iota (the state store, and the
# Python runtime it unpacks at start, IOTA_RUNTIME_DIR) and /tmp. See docs/DEPLOYMENT.md.
#
#   docker build -t iota:0.1.0 .
#   docker run --rm --read-only --tmpfs /tmp -v iota-data:/var/lib/iota iota:0.1.0 \
#       s3-poll --bucket my-org-trail --state /var/lib/iota/state.db

FROM rust:1.95.0-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates crates
COPY python python
COPY rules rules
# The release profile keeps line tables for backtraces; the image drops them.
ENV CARGO_PROFILE_RELEASE_DEBUG=0
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p iota \
 && install -D -m 0755 target/release/iota /out/iota

FROM debian:12.12-slim
LABEL org.opencontainers.image.title="iota" \
      org.opencontainers.image.description="Self-hosted detection engine for AWS CloudTrail" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 iota \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/iota --no-create-home \
        --shell /usr/sbin/nologin iota \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/iota
COPY --from=build /out/iota /usr/local/bin/iota
COPY rules /usr/share/iota/rules
# IOTA_RUNTIME_DIR: where iota unpacks its Python runtime (the root filesystem may be
# read-only). IOTA_LISTEN: the daemons' /healthz, /readyz and /metrics must be reachable from
# outside the container (for probes and Prometheus); publish the port only where needed.
ENV HOME=/var/lib/iota \
    IOTA_RUNTIME_DIR=/var/lib/iota/runtime \
    IOTA_LISTEN=0.0.0.0:9090
USER 10001:10001
WORKDIR /var/lib/iota
VOLUME ["/var/lib/iota"]
EXPOSE 9090
ENTRYPOINT ["iota"]
CMD ["--help"]
