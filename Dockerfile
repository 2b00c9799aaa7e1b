# One image for all five binaries; docker-compose picks the binary with `command:`.
# lapin uses rustls with ring and mysql_async a pure-Rust deflate: no OpenSSL, zlib or
# cmake needed in either stage.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bins \
    && mkdir /out \
    && cp target/release/producer target/release/consumer-health target/release/consumer-insert \
          target/release/consumer-delete target/release/consumer-read /out/

FROM debian:bookworm-slim
# curl: the producer's healthcheck calls /readyz.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home records
COPY --from=build /out/ /usr/local/bin/
USER records
ENV RUST_LOG=info HTTP_ADDRESS=0.0.0.0 HTTP_PORT=8000
EXPOSE 8000
CMD ["producer"]
