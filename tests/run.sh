#!/bin/sh
# README's test command: installs what the tests need where it is missing, then runs every test.
#   bash tests/run.sh [nextest arguments]
# Needs: Rust (rustup, 1.89 or later) and a C compiler. Installs, when missing: cargo-nextest,
# and from Debian/Ubuntu packages (with sudo unless root) libssl-dev and pkg-config (native-tls,
# the MQTT client's TLS, builds against OpenSSL), mosquitto, openssl (the TLS tests'
# certificates), chromium, nodejs and npm;
# then the third-party VDA 5050 vehicles of the interop test (npm ci, pinned by a lock file).
set -eu
cd "$(dirname "$0")/.."

missing=""
pkg-config --exists openssl 2>/dev/null || missing="$missing libssl-dev pkg-config"
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing="$missing mosquitto"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
    echo "tests/run.sh: installing$missing (Debian packages)" >&2
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: apt-get not found; install$missing with your package manager, then run this again" >&2
        exit 1
    fi
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq $missing >/dev/null
fi
if ! cargo nextest --version >/dev/null 2>&1; then
    echo "tests/run.sh: installing cargo-nextest" >&2
    cargo install cargo-nextest --locked
fi
(cd tests/peers/vda-5050-lib && npm ci --no-audit --no-fund --silent)

cargo nextest run --workspace "$@"
