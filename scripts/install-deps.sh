#!/usr/bin/env bash
# Installs the Debian packages Polis needs, and only those that are missing, without prompts.
# Usage: scripts/install-deps.sh [build|test|bench|fuzz]...   (default: build)
set -euo pipefail

build_pkgs=(gcc make cmake pkg-config ca-certificates libmicrohttpd-dev libjansson-dev
            libsqlite3-dev libsqlite3-mod-spatialite libcurl4-openssl-dev libjemalloc-dev)
build_pkgs+=(libmosquitto-dev)   # MQTT notifications (libmosquitto client)
build_pkgs+=(libgeos-dev)        # exact in-memory geo relations (the GEOS SpatiaLite uses)
build_pkgs+=(libicu-dev)         # ICU collations of entity ordering (orderBy, collation)
build_pkgs+=(libsodium-dev)      # Argon2id password hashes, random, constant-time compare
build_pkgs+=(libcjose-dev)       # JWS/JWK: bearer JWTs of an identity provider, Polis tokens
build_pkgs+=(libgnutls28-dev)    # HTTPS listener: certificate and key reloaded on SIGHUP
test_pkgs=(libcmocka-dev python3 python3-pytest python3-requests python3-pyld clang)
test_pkgs+=(mosquitto)           # a real MQTT broker for the notification tests
test_pkgs+=(python3-jwt python3-cryptography openssl) # sign test JWTs (RS256/ES256/HS256), certs
bench_pkgs=(wrk python3 python3-requests mosquitto)
fuzz_pkgs=(clang libclang-rt-14-dev)

want=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
    case "$group" in
        build) want+=("${build_pkgs[@]}") ;;
        test)  want+=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
        bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
        fuzz)  want+=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
        *) echo "install-deps: unknown group '$group'" >&2; exit 2 ;;
    esac
done

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q </dev/null
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
