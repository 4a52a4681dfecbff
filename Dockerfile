# syntax=docker/dockerfile:1
# inferd's container image. The build stage runs the same scripts as CI
# (scripts/install-deps.sh, scripts/build.sh); the runtime stage is a slim Debian with only
# the shared libraries the binary loads and the CA certificates, running as a non-root user.
#   docker build -t inferd --build-arg VERSION=0.1.0 --build-arg REVISION=$(git rev-parse HEAD) .
# Layers are ordered so that a source change rebuilds the binary and copies it, and installs
# no package again. scripts/deploy-check.sh builds and runs it with podman.
ARG DEBIAN_RELEASE=bookworm

# What the runtime base already has (its libraries), and the CA certificates it will trust.
FROM debian:${DEBIAN_RELEASE}-slim AS base
RUN find /usr/lib -name '*.so*' >/base-libraries.txt \
 && apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
 && mkdir -p /out/var/lib/dpkg/status.d \
 && cp -a --parents etc/ssl/certs etc/ssl/openssl.cnf usr/share/ca-certificates usr/lib/ssl /out \
 && dpkg-query -s ca-certificates >/out/var/lib/dpkg/status.d/ca-certificates \
 && rm -rf /var/lib/apt/lists/*

FROM debian:${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
# A builder whose network needs extra CA certificates (a TLS-inspecting proxy) mounts them
# at /run/build-ca (podman build -v /usr/local/share/ca-certificates:/run/build-ca:ro):
# they are trusted in this stage only and never reach the runtime image.
RUN if [ -d /run/build-ca ]; then \
      mkdir -p /usr/local/share/ca-certificates \
      && find /run/build-ca -name '*.crt' -exec cp {} /usr/local/share/ca-certificates/ \; ; \
    fi \
 && scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
# Only what the binary is built from, so that a change to tests or docs rebuilds nothing.
COPY scripts/build.sh scripts/
COPY CMakeLists.txt ./
COPY src src
# The compiler cache (scripts/build.sh uses ccache) lives in a build cache mount, kept by the
# builder between builds and never in an image: a source change recompiles only what it touches.
RUN --mount=type=cache,target=/var/cache/ccache,id=inferd-ccache,sharing=locked \
    CCACHE_DIR=/var/cache/ccache CCACHE_MAXSIZE=2G CCACHE_BASEDIR= BUILD_DIR=/tmp/build \
    CMAKE_ARGS=-DINFERD_BUILD_TESTS=OFF scripts/build.sh \
 && cmake --install /tmp/build --prefix /out --strip \
 && rm -rf /tmp/build
COPY --from=base /base-libraries.txt /tmp/
COPY deploy/image/runtime-files.sh deploy/image/
RUN deploy/image/runtime-files.sh /out/bin/inferd /tmp/base-libraries.txt /runtime

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 inferd \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/inferd --no-create-home \
      --shell /usr/sbin/nologin inferd \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/inferd
COPY --from=base /out/ /
# The libraries inferd loads that the base lacks, with their packages' dpkg records.
COPY --from=build /runtime/ /
# The demo dataset, so the training Job and docker-compose work out of the box.
COPY tests/data/breast_cancer.csv /usr/share/inferd/datasets/breast_cancer.csv
COPY --from=build /out/bin/inferd /usr/local/bin/inferd
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
# Last, so that a new version or commit changes only this layer.
ARG DEBIAN_RELEASE
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="inferd" \
      org.opencontainers.image.description="KServe V2/V1 inference server, model registry, training and monitoring for XGBoost, LightGBM and ONNX tree models" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="https://github.com/inferd/inferd" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="debian:${DEBIAN_RELEASE}-slim"
