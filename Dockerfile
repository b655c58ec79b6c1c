# syntax=docker/dockerfile:1
# The notes API with the built front end, for people who build with Docker.
# (No Docker engine runs on our own machines, so this file is not exercised by
# .ci/run; a daemonless `cargo xtask image` is a later issue.)
#
#   docker build -t notes-api .
#   docker run --rm -p 8080:8080 -e HOST=0.0.0.0 notes-api
#
# Stages: chef (cargo-chef) → planner (dependency recipe) → builder (cached
# dependency layer, then our code; the API natively and the front end for
# wasm32) → runtime (distroless, non-root, no shell).

ARG RUST_VERSION=1.95
FROM rust:${RUST_VERSION}-bookworm AS chef
RUN cargo install --locked cargo-chef@0.1.78 \
 && rustup target add wasm32-unknown-unknown
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
# Dependencies only: this layer is reused until Cargo.lock or a manifest changes.
RUN cargo chef cook --release --locked --recipe-path recipe.json --package notes-api
COPY . .
RUN cargo build --release --locked --package notes-api \
 && cargo run --locked --package notes-web-dist -- dist --release --quiet \
 && mkdir -p /out/data \
 && cp target/release/notes-api /out/notes-api \
 && cp -r apps/web/dist /out/web

# glibc, CA certificates, a nonroot user (65532), nothing else.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
COPY --from=builder /out/notes-api /app/notes-api
COPY --from=builder /out/web /app/web
COPY --from=builder --chown=65532:65532 /out/data /data
ENV HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data \
    WEB_DIST=/app/web \
    LOG_FORMAT=json
USER 65532:65532
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["/app/notes-api"]
CMD ["serve"]
