# tests/lib.sh — shared shell helpers for integration tests. Source it:
#     . "$(dirname "$0")/../lib.sh"
# Every server is started on a free 127.0.0.1 port in a private temp dir
# ($T) and stopped by the EXIT trap, whatever the test's outcome.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-$ROOT/build/bin} # e2e_asan.sh points it at the ASan build
T=$(mktemp -d /tmp/iotac-test.XXXXXX)
chmod 755 "$T" # services running as their own user (mosquitto) reach their files
PIDS=()
# Ganache's deterministic accounts 0..2 (mnemonic "myth like bonus scare ...").
GANACHE_KEY0=0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d
GANACHE_KEY1=0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1
GANACHE_KEY2=0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c
export LOG_LEVEL=${LOG_LEVEL:-info}

cleanup() {
    local rc=$?
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
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

# free_port: print a TCP port nobody listens on at 127.0.0.1.
free_port() {
    local p
    for _ in $(seq 1 200); do
        # Below the kernel's ephemeral range (32768+), so an outgoing
        # connection cannot be holding the port we pick.
        p=$(( (RANDOM % 12000) + 20000 ))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
    done
    return 1
}

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
    local port=$1 secs=${2:-30} i
    for i in $(seq 1 $((secs * 10))); do
        if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

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

# bg NAME CMD...: start CMD in the background, logging to $T/NAME.log; its pid is in $LAST_PID.
bg() {
    local name=$1; shift
    "$@" >"$T/$name.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# start_mosquitto: a broker on a free port; sets MQTT_PORT, MQTT_URL and
# MOSQ_PID. A port picked free can be taken by a parallel test before the
# broker binds it, so a failed start is retried on another port.
start_mosquitto() {
    local attempt
    mkdir -p "$T/mosq"
    # As root, mosquitto drops to its own user: let it write its store.
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto "$T/mosq"; fi
    for attempt in 1 2 3; do
        MQTT_PORT=$(free_port)
        cat >"$T/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence true
persistence_location $T/mosq/
max_queued_messages 100000
CONF
        bg mosquitto mosquitto -c "$T/mosquitto.conf"
        MOSQ_PID=$LAST_PID
        if wait_port "$MQTT_PORT" 10 && kill -0 "$MOSQ_PID" 2>/dev/null; then
            MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
            export MQTT_URL
            return 0
        fi
        kill "$MOSQ_PID" 2>/dev/null || true
    done
    fail "mosquitto did not start"
}

# start_ganache [DBDIR]: a dev chain (chain id 1337, deterministic accounts);
# sets GANACHE_PORT, RPC_URL, CHAIN_ID.
start_ganache() {
    local db=${1:-$T/ganache-db} attempt
    mkdir -p "$db"
    for attempt in 1 2 3; do
        GANACHE_PORT=${GANACHE_PORT_FIXED:-$(free_port)}
        bg ganache node "$ROOT/tools/node_modules/ganache/dist/node/cli.js" \
            --server.host 127.0.0.1 --server.port "$GANACHE_PORT" \
            --chain.chainId 1337 --wallet.deterministic --wallet.totalAccounts 10 \
            --database.dbPath "$db" --logging.quiet --miner.blockGasLimit 30000000
        GANACHE_PID=$LAST_PID
        if wait_port "$GANACHE_PORT" 60 && kill -0 "$GANACHE_PID" 2>/dev/null; then
            RPC_URL=http://127.0.0.1:$GANACHE_PORT
            CHAIN_ID=1337
            export RPC_URL CHAIN_ID
            return 0
        fi
        kill "$GANACHE_PID" 2>/dev/null || true
    done
    fail "ganache did not start"
}

# rpc METHOD PARAMS_JSON: one JSON-RPC call to $RPC_URL; prints the response.
rpc() {
    curl -s -X POST -H 'Content-Type: application/json' \
        --data "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$RPC_URL"
}
