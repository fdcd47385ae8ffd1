#!/usr/bin/env bash
# Installs everything magnumd needs to build and test, from Debian 12 packages only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake ninja-build ccache pkg-config git clang-16 libclang-rt-16-dev llvm-16
  libboost1.81-dev libboost-url1.81-dev rapidjson-dev libsqlite3-dev sqlite3 libssl-dev
  libfmt-dev libyaml-cpp-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc etcd-server
  curl python3 python3-yaml python3-pytest procps openssl
  cloud-init shellcheck librabbitmq-dev
)
if [[ "${WITH_OPENSTACK_CLIENT:-1}" == 1 ]]; then
  packages+=(python3-openstackclient python3-heatclient python3-novaclient python3-magnumclient)
  # The audit e2e: a real broker, a plain AMQP client and oslo.messaging's listener to read it.
  packages+=(rabbitmq-server python3-amqp python3-oslo.messaging)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
