# syntax=docker/dockerfile:1
# sloburn as a container image: built from source, run from distroless (glibc, no shell, no
# package manager) as a non-root user, the history on a volume, a health check on /readyz.
#
#   docker build -t sloburn .
#   docker run -p 9099:9099 -v sloburn-state:/var/lib/sloburn \
#     -v "$PWD/slo-specs:/etc/sloburn/slo-specs:ro" \
#     -e SLOBURN_PROMETHEUS_URL=http://prometheus:9090 sloburn
#
# Built and run by tests/container_image.rs (buildah and podman, with local stand-ins for the
# two base images, which cannot be pulled there).

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
# The demo embeds its spec (include_str!).
COPY slo-specs ./slo-specs
# The crates and the target dir are caches: a rebuild after a change compiles only sloburn.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sloburn \
 && mkdir -p /out/usr/bin /out/var/lib/sloburn /out/etc/sloburn/slo-specs \
 && cp target/release/sloburn /out/usr/bin/sloburn

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/bin/sloburn /usr/bin/sloburn
COPY packaging/sloburn.yaml /etc/sloburn/sloburn.yaml
# Owned by the user, so a new named volume on it is writable.
COPY --from=build --chown=65532:65532 /out/var/lib/sloburn /var/lib/sloburn
COPY --from=build /out/etc/sloburn/slo-specs /etc/sloburn/slo-specs
USER 65532:65532
VOLUME ["/var/lib/sloburn"]
EXPOSE 9099
ENV SLOBURN_CONFIG=/etc/sloburn/sloburn.yaml
# `sloburn probe` asks /readyz where `run` listens: the settings file's `listen`, or
# SLOBURN_LISTEN when set.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["/usr/bin/sloburn", "probe"]
ENTRYPOINT ["/usr/bin/sloburn"]
CMD ["run"]
