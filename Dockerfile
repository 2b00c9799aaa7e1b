# One image for the five services and the `topology` tool that docker-compose's one-shot
# steps run; docker-compose picks the binary with `command:`.
#
# Plain Dockerfile syntax: it builds the same with BuildKit (Compose v2, `docker build`
# on Docker Desktop) and with the classic builder (Compose v1's default). What keeps a
# rebuild short is the dependency layer: the `skeleton` stage keeps only the manifests
# and the lock file, so the layer that compiles every dependency is reused until a
# dependency changes, and a change to our code recompiles only our crates.
#
# lapin uses rustls with ring and mysql_async a pure-Rust deflate: no OpenSSL, zlib or
# cmake needed in either stage. The base images are build arguments (defaults: the
# official images).
ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS skeleton
WORKDIR /src
COPY . .
# Every package of ours keeps its manifest, with an empty library and main standing in
# for its code; nothing else is left. vendor/ (Rocket with the patch the README's
# Security section describes) is a dependency: it stays whole, and is compiled in the
# dependency layer like any other.
RUN find . -path ./vendor -prune -o -type f ! -name Cargo.toml ! -name Cargo.lock -exec rm {} + \
    && for package in $(find . -path ./vendor -prune -o -name Cargo.toml ! -path ./Cargo.toml -exec dirname {} \;); do \
         mkdir -p "$package/src"; \
         : > "$package/src/lib.rs"; \
         echo 'fn main() {}' > "$package/src/main.rs"; \
       done

FROM ${RUST_IMAGE} AS build
WORKDIR /src
ENV PACKAGES="-p inventory -p producer -p consumer-health -p consumer-insert -p consumer-delete -p consumer-read"
# No debug information: the release profile keeps line tables for profiling, which make
# each binary about 60 MB instead of 11 and the build slower.
ENV CARGO_PROFILE_RELEASE_DEBUG=false
COPY --from=skeleton /src .
RUN cargo build --release --locked --bins $PACKAGES
COPY . .
# The sources are older than the skeleton's build: touching them makes cargo rebuild
# our crates from them rather than keep the empty stand-ins.
RUN find . -path ./target -prune -o -name '*.rs' -exec touch {} + \
    && cargo build --release --locked --bins $PACKAGES \
    && mkdir /out \
    && cd target/release \
    && cp producer consumer-health consumer-insert consumer-delete consumer-read topology /out/

FROM ${RUNTIME_IMAGE}
# curl: the producer's healthcheck calls /readyz, and the broker's provisioning step
# calls the management API.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 records \
    && useradd --system --uid 10001 --gid 10001 --no-create-home records
COPY --from=build /out/ /usr/local/bin/
USER records
ENV RUST_LOG=info HTTP_ADDRESS=0.0.0.0 HTTP_PORT=8000
EXPOSE 8000
CMD ["producer"]
