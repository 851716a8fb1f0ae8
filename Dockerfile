# syntax=docker/dockerfile:1
# sloburn as a container image: built from source, run from distroless (glibc, no shell, no
# package manager) as a non-root user, the history on a volume, a health check on /readyz.
#
#   docker build -t sloburn .
#   docker run -p 9099:9099 -v sloburn-state:/var/lib/sloburn \
#     -v "$PWD/slo-specs:/etc/sloburn/slo-specs:ro" \
#     -e SLOBURN_PROMETHEUS_URL=http://prometheus:9090 sloburn
#
# Not built by the test suite (no container daemon there): tests/deploy.rs checks that every
# file it copies exists and holds what the build embeds, that the image runs as non-root and
# probes /readyz; tests/package_deb.rs starts sloburn with the same settings file.

FROM docker.io/library/rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
# The demo embeds its spec (include_str!).
COPY slo-specs ./slo-specs
RUN cargo build --release --locked --bin sloburn \
 && mkdir -p /out/var/lib/sloburn /out/etc/sloburn/slo-specs

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/sloburn /usr/bin/sloburn
COPY packaging/sloburn.yaml /etc/sloburn/sloburn.yaml
COPY --from=build --chown=65532:65532 /out/var/lib/sloburn /var/lib/sloburn
COPY --from=build /out/etc/sloburn/slo-specs /etc/sloburn/slo-specs
USER 65532:65532
VOLUME ["/var/lib/sloburn"]
EXPOSE 9099
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
  CMD ["/usr/bin/sloburn", "probe", "http://127.0.0.1:9099/readyz"]
ENTRYPOINT ["/usr/bin/sloburn"]
CMD ["run", "--config", "/etc/sloburn/sloburn.yaml"]
