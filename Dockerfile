# syntax=docker/dockerfile:1
# inferd's container image. The build stage runs the same scripts as CI
# (scripts/install-deps.sh, scripts/build.sh); the runtime stage is a slim Debian with
# only the shared libraries the binary links, running as a non-root user.
#   docker build -t inferd --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN BUILD_DIR=/src/build CMAKE_ARGS=-DINFERD_BUILD_TESTS=OFF scripts/build.sh \
 && cmake --install /src/build --prefix /out --strip

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="inferd" \
      org.opencontainers.image.description="KServe V2/V1 inference server, model registry, training and monitoring for XGBoost models" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/inferd/inferd" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:${DEBIAN_RELEASE}-slim"
# The libraries inferd links (tests/deploy checks this list against the binary).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libxgboost0 libsimdjson14 libsqlite3-0 libmongoc-1.0-0 libbson-1.0-0 \
      libspdlog1.10 libfmt9 libssl3 libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 inferd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/inferd --no-create-home \
      --shell /usr/sbin/nologin inferd \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/inferd
COPY --from=build /out/bin/inferd /usr/local/bin/inferd
# The demo dataset, so the training Job and docker-compose work out of the box.
COPY tests/data/breast_cancer.csv /usr/share/inferd/datasets/breast_cancer.csv
# The default store (sqlite:///inferd-data/inferd.db) and spool live under the working
# folder; Kubernetes mounts an emptyDir here and on /tmp (TMPDIR) for a read-only root.
WORKDIR /var/lib/inferd
USER 10001:10001
# 9000: HTTP (REST, metrics); 9001: gRPC (KServe V2 / Triton).
EXPOSE 9000 9001
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["inferd", "healthcheck", "--timeout-ms", "2000"]
ENTRYPOINT ["inferd"]
CMD ["serve"]
