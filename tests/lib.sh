# tests/lib.sh — shared shell helpers for integration tests. Source it:
#     . "$(dirname "$0")/../lib.sh"
# Every server is started on a free 127.0.0.1 port in a private temp dir
# ($T) and stopped by the EXIT trap, whatever the test's outcome. Servers
# are started with scripts/lib/stack.sh (free_port, wait_port, bg,
# start_mosquitto, start_chain, deploy_contract, stop_pid), sourced here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin} # e2e_asan.sh points it at the ASan build
T=$(mktemp -d /tmp/iotac-test.XXXXXX)
chmod 755 "$T" # services running as their own user (mosquitto) reach their files
STACK_DIR=$T
. "$ROOT/scripts/lib/stack.sh" # free_port wait_port bg start_mosquitto start_chain deploy_contract ...
export LOG_LEVEL=${LOG_LEVEL:-info}
# A test picks its own keys and contract, never the caller's.
unset PRIVATE_KEY KEY_FILE CONTRACT_ADDRESS

cleanup() {
    local rc=$?
    stop_started 2
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        echo "--- test failed (rc=$rc); last lines of logs in $T:" >&2
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -n 25 "$f" >&2; }; done
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap "exit 143" TERM
trap "exit 130" INT

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds.
wait_for() {
    local secs=$1; shift
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

# rpc METHOD PARAMS_JSON: one JSON-RPC call to $RPC_URL; prints the response.
rpc() {
    curl -s -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC_URL"
}

# start_auth_mosquitto DIR: mosquitto with the configuration
# `scripts/broker-auth.sh conf` renders from DIR (an `init` directory; store
# under $STATE_DIR): the authenticated listener on 127.0.0.1 and the
# anonymous loopback one, on free ports (start_mosquitto's retries). Sets P
# (authenticated), L (loopback) and exports MQTT_URL=tcp://127.0.0.1:P.
start_auth_mosquitto() {
    AUTH_CONF_DIR=$1 start_mosquitto auth_mosquitto_conf 2
    read -r P L <<<"$MQTT_PORTS"
}
auth_mosquitto_conf() { # PORT LOCAL_PORT: start_auth_mosquitto's CONF_FN
    MQTT_PORT=$1 MQTT_BIND=127.0.0.1 MQTT_LOCAL_PORT=$2 STATE_DIR=$STATE_DIR \
        "$ROOT/scripts/broker-auth.sh" conf "$AUTH_CONF_DIR" "$T/auth-rendered.conf" &&
        cat "$T/auth-rendered.conf"
}

# start_ganache [DBDIR]: the old name of `start_chain ganache [DBDIR]`, for
# tests written before scripts/lib/stack.sh (new code: start_chain).
start_ganache() { start_chain ganache "$@"; }
