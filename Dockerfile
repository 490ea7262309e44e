FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin onething

FROM debian:bookworm-slim
# curl for the healthcheck in docker-compose.yml.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 curl && rm -rf /var/lib/apt/lists/*
# Runs unprivileged; the data directory is created here so a fresh volume gets its owner.
RUN groupadd --system --gid 10001 onething \
    && useradd --system --uid 10001 --gid onething --home-dir /var/lib/onething --no-create-home --shell /usr/sbin/nologin onething \
    && mkdir -p /var/lib/onething \
    && chown onething:onething /var/lib/onething
WORKDIR /app
COPY --from=build /src/target/release/onething /usr/local/bin/onething
COPY forms /app/forms
ENV ONETHING_FORMS_DIR=/app/forms ONETHING_DATA_DIR=/var/lib/onething
EXPOSE 8080
USER onething
ENTRYPOINT ["onething"]
CMD ["serve"]
