#!/usr/bin/env bash
# Installs what building and testing synwave needs, from Debian 12's
# packages, skipping what is already there. Run as root. Called by the two
# README commands (scripts/run-main.sh, scripts/run-tests.sh).
set -euo pipefail

packages=(
  # build
  meson ninja-build g++ pkg-config
  libdpdk-dev libabsl-dev libtomlplusplus-dev nlohmann-json3-dev
  libcpp-httplib-dev help2man
  libgtest-dev libgmock-dev libbenchmark-dev
  # libFuzzer (clang) for the fuzz targets
  clang libclang-rt-14-dev
  # tools the integration tests drive against the kernel
  iproute2 iputils-ping iputils-arping ethtool tcpdump hping3 curl
  iptables procps python3-scapy
  # live metrics (dpdk-telemetry.py, an exposition parser) and plots
  dpdk-dev python3-prometheus-client python3-matplotlib
  # instruction counts for benchmarks
  valgrind
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
