FROM rust:1-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libssl-dev && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked --bin onething

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/target/release/onething /usr/local/bin/onething
COPY forms /app/forms
ENV ONETHING_FORMS_DIR=/app/forms
EXPOSE 8080
ENTRYPOINT ["onething"]
CMD ["serve"]
