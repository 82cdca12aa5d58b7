#!/usr/bin/env bash
# Installs everything the stack and its tests need, idempotently.
#   scripts/install-deps.sh            build + run dependencies (Debian packages, npm tools)
#   scripts/install-deps.sh --test     also what the tests need (cmocka, chromium, compose, ...)
# Debian packages go through apt-get; Node tools through `npm ci` against the
# committed lockfile in tools/. Nothing is fetched at run time.
# Under systemd, the mosquitto and nats-server services the Debian packages
# start are stopped and disabled when this script installs them (make run
# starts its own brokers on their ports). INSTALL_DEPS_SYSTEMD_DIR
# (/run/systemd/system) is where systemd's presence is checked (tests).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want_test=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential pkg-config ca-certificates curl make
      libpaho-mqtt-dev libjansson-dev libcurl4-openssl-dev libwebsockets-dev
      libsecp256k1-dev mosquitto mosquitto-clients nats-server openssl nodejs npm)
if [ "$want_test" = 1 ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev docker-compose chromium procps python3-sklearn)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# nodejs/npm may come from elsewhere (e.g. a preinstalled Node); accept any working pair.
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$(id -u)" != 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" # -q: progress, one line per step
  # Debian starts a package's service on install: its mosquitto would hold
  # 1883 and its nats-server 4222 before `make run` starts our own (with
  # accounts and ACLs). Stop and disable the ones just installed.
  svcs=()
  for p in "${missing[@]}"; do case "$p" in mosquitto | nats-server) svcs+=("$p") ;; esac; done
  if [ "${#svcs[@]}" -gt 0 ] && [ -d "${INSTALL_DEPS_SYSTEMD_DIR:-/run/systemd/system}" ]; then
    $sudo systemctl disable --now --quiet "${svcs[@]}" ||
      echo "install-deps: warning: could not stop ${svcs[*]} (systemctl disable --now ${svcs[*]})" >&2
    echo "install-deps: stopped and disabled the packaged ${svcs[*]} system service(s); make run starts its own"
  fi
fi

# Node tools (ganache, solc, playwright-core, uPlot) pinned by tools/package-lock.json.
# A symlinked tools/node_modules is an install shared with another checkout
# (e.g. git worktrees): `npm ci` would empty the target and replace the
# link, breaking the other checkouts, so it is left alone.
if [ -L "$here/tools/node_modules" ]; then
  [ -f "$here/tools/node_modules/.stamp" ] && [ ! "$here/tools/package-lock.json" -nt "$here/tools/node_modules/.stamp" ] ||
    echo "install-deps: tools/node_modules is a symlink (shared install); not running npm ci there - update it where it lives" >&2
elif [ ! -d "$here/tools/node_modules" ] || [ "$here/tools/package-lock.json" -nt "$here/tools/node_modules/.stamp" ]; then
  echo "install-deps: npm ci in tools/"
  (cd "$here/tools" && npm ci --no-audit --no-fund --loglevel=notice)
  touch "$here/tools/node_modules/.stamp"
fi
