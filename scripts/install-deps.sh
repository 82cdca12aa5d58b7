#!/usr/bin/env bash
# Installs everything the stack and its tests need, idempotently.
#   scripts/install-deps.sh            build + run dependencies (Debian packages, npm tools)
#   scripts/install-deps.sh --test     also what the tests need (cmocka, chromium, compose, ...)
#   scripts/install-deps.sh --runtime  only what the built services run with (the
#                                      image's runtime stage: no compiler, no npm)
# Debian packages go through apt-get; Node tools through `npm ci` against the
# committed lockfile in tools/. Nothing is fetched at run time. Works with
# Debian 12's own Node 18.
# Under systemd, the mosquitto and nats-server services the Debian packages
# start are stopped and disabled when this script installs them (make run
# starts its own brokers on their ports). INSTALL_DEPS_SYSTEMD_DIR
# (/run/systemd/system) is where systemd's presence is checked (tests).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
want_test=0 want_runtime=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    --runtime) want_runtime=1 ;;
    *) echo "usage: $0 [--test | --runtime]" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential pkg-config ca-certificates curl make
      libpaho-mqtt-dev libmosquitto-dev libjansson-dev libcurl4-openssl-dev libwebsockets-dev
      libsecp256k1-dev libssl-dev mosquitto mosquitto-clients nats-server openssl nodejs npm)
if [ "$want_test" = 1 ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev docker-compose chromium procps python3-sklearn
        python3-aiosmtpd)
  # The real Compose run (tests/compose/up.sh): podman where no Docker daemon
  # runs, and debootstrap for a base image where no image registry is reachable.
  pkgs+=(podman podman-compose netavark aardvark-dns runc debootstrap)
fi
# --runtime: the shared libraries of build/bin/*, the broker, the dev chain's
# Node and the tools the scripts and health checks call.
if [ "$want_runtime" = 1 ]; then
  pkgs=(ca-certificates curl openssl procps libpaho-mqtt1.3 libmosquitto1 libjansson4 libcurl4
        libwebsockets17 libsecp256k1-1 mosquitto mosquitto-clients nats-server nodejs)
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
if [ "$want_runtime" = 1 ] && command -v node >/dev/null; then
  tmp=()
  for p in "${missing[@]}"; do [ "$p" = nodejs ] || tmp+=("$p"); done
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

# Node tools pinned by tools/package-lock.json: `dependencies` (ganache,
# solc, uPlot, ws) always, `devDependencies` (Anvil, playwright-core: test
# tools only) with --test. --ignore-scripts: no package's install script
# runs, so none downloads anything (Anvil's binary comes in its platform
# package, which needs Node >= 20: on Debian's Node 18 npm leaves it out and
# the Anvil tests skip). --runtime installs no Node tools (the image copies
# them from its build stage).
[ "$want_runtime" = 1 ] && exit 0
npm_mode=runtime npm_args=(--omit=dev)
if [ "$want_test" = 1 ]; then npm_mode=test npm_args=(); fi
stamp=$here/tools/node_modules/.stamp
# A symlinked tools/node_modules is an install shared with another checkout
# (e.g. git worktrees): `npm ci` would empty the target and replace the
# link, breaking the other checkouts, so it is left alone.
if [ -L "$here/tools/node_modules" ]; then
  [ -f "$stamp" ] && [ ! "$here/tools/package-lock.json" -nt "$stamp" ] ||
    echo "install-deps: tools/node_modules is a symlink (shared install); not running npm ci there - update it where it lives" >&2
elif [ ! -f "$stamp" ] || [ "$here/tools/package-lock.json" -nt "$stamp" ] ||
     { [ "$npm_mode" = test ] && [ "$(cat "$stamp")" = runtime ]; }; then
  echo "install-deps: npm ci ${npm_args[*]} in tools/"
  (cd "$here/tools" && npm ci --ignore-scripts "${npm_args[@]+"${npm_args[@]}"}" --no-audit --no-fund --loglevel=notice)
  echo "$npm_mode" >"$stamp"
fi
