# syntax=docker/dockerfile:1
# Build stage: Debian 12 with the build dependencies from Debian's packages only.
FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
COPY scripts/install-deps.sh /src/scripts/install-deps.sh
RUN --mount=type=cache,target=/var/cache/apt \
    WITH_OPENSTACK_CLIENT=0 bash /src/scripts/install-deps.sh
COPY . /src
RUN --mount=type=cache,target=/root/.cache/ccache \
    cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=clang++-16 \
      -DMAGNUMD_BUILD_BENCH=OFF -DMAGNUMD_E2E=OFF \
 && cmake --build /build --target magnumd magnumctl cloudsim \
 && install -D -m 0755 /build/cmd/magnumd /out/magnumd \
 && install -D -m 0755 /build/cli/magnumctl /out/magnumctl \
 && install -D -m 0755 /build/cloudsim/cloudsim /out/cloudsim

# Runtime stage: only the shared libraries the binaries link against, and a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libsqlite3-0 libfmt9 \
      libyaml-cpp0.7 libboost-url1.81.0 librabbitmq4 libstdc++6 libgrpc++1.51 libprotobuf32 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/magnumd --create-home magnumd
COPY --from=build /out/ /usr/local/bin/
COPY deploy/magnumd.yaml /etc/magnumd/magnumd.yaml
USER 10001:10001
WORKDIR /var/lib/magnumd
EXPOSE 9511
ENTRYPOINT ["/usr/local/bin/magnumd"]
# The sample config listens on 127.0.0.1 (right for systemd behind a proxy); in a container the
# port must be reachable through the container's interface, so the flag overrides it. Mount
# /etc/magnumd/tokens.csv and a clouds.yaml (OS_CLIENT_CONFIG_FILE) for production use.
CMD ["--config", "/etc/magnumd/magnumd.yaml", "--listen", "0.0.0.0:9511"]
