# syntax=docker/dockerfile:1
#
# One image for the whole system: the `shop` binary runs any service (`shop serve <service>`,
# or the service named by SHOP_SERVICE), loads the demo data (`shop seed`) and checks health
# (`shop probe`). Build: docker build -t shop .

ARG RUST_VERSION=1.95
ARG DEBIAN=bookworm

# cargo-chef splits the build in two layers: the dependencies, rebuilt only when a Cargo.toml
# or Cargo.lock changes, and the workspace's own code.
FROM rust:${RUST_VERSION}-slim-${DEBIAN} AS chef
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --locked --package shop --recipe-path recipe.json
COPY . .
RUN cargo build --release --locked --package shop \
    && mkdir -p /out/data \
    && cp target/release/shop /out/shop

# glibc and libgcc only: no shell, no package manager, no compiler. Runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/shop /usr/local/bin/shop
# Writable by the service user: the embedded search index lives here (SEARCH_INDEX_DIR).
COPY --from=builder --chown=65532:65532 /out/data /data
WORKDIR /data
USER 65532:65532
ENV SHOP_SERVICE=gateway \
    LOG_FORMAT=json \
    SEARCH_INDEX_DIR=/data/search-index
EXPOSE 8080 8081 8082 8083 8084
# Asks the service SHOP_SERVICE names, on the address its own configuration gives it.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["shop", "probe"]
ENTRYPOINT ["shop"]
CMD ["serve"]
