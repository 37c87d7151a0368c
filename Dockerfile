# Taskflow's container image: built from source, run as a non-root user from a minimal
# runtime image with nothing in it but the binary and the C runtime it needs.
#
#   docker build -t taskflow .
#   docker run -p 8080:8080 -v taskflow-data:/data taskflow

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config make \
    && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cargo build --release --locked -p taskflow \
    && install -D -m 0755 target/release/taskflow /out/taskflow \
    && mkdir -p /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
# checkov:skip=CKV_DOCKER_2: no HEALTHCHECK: Kubernetes probes /healthz and /readyz, and the image has no shell or HTTP client to run one
COPY --from=build /out/taskflow /usr/local/bin/taskflow
COPY --from=build --chown=65532:65532 /out/data /data
ENV TASKFLOW_DATA_DIR=/data \
    TASKFLOW_LISTEN=0.0.0.0:8080 \
    TASKFLOW_LOG_FORMAT=json
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/taskflow"]
CMD ["serve"]
