#!/usr/bin/env bash
# `make run`: the whole stack natively, in the foreground.
#   broker (mosquitto) -> simulator -> detector -> chain logger -> Ganache,
#   and the gateway serving REST, WebSocket and the dashboard.
# Installs what is missing, builds, starts everything, prints the dashboard
# URL, writes each process's log to $STATE_DIR/logs/, stops all on Ctrl-C.
# Settings (environment): STATE_DIR (./state), MQTT_PORT (1883, accounts
# only), MQTT_BIND (0.0.0.0), MQTT_LOCAL_PORT (1884, anonymous, loopback only),
# MQTT_TLS_PORT (unset = no TLS listener; dev certificates are generated), RPC_PORT (8545), GATEWAY_PORT (8080), KEY_FILE, SIMULATOR (1 =
# start the simulator; 0 = only real sensors), SIM_SPEEDUP (1440), SIM_START
# (a year ago), plus every service setting
# in the README, passed through as is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"
make -j"$(nproc)" all >/dev/null

export STATE_DIR=${STATE_DIR:-$ROOT/state}
STATE_DIR=$(mkdir -p "$STATE_DIR" && cd "$STATE_DIR" && pwd)
export STATE_DIR
MQTT_PORT=${MQTT_PORT:-1883}
MQTT_BIND=${MQTT_BIND:-0.0.0.0}
MQTT_LOCAL_PORT=${MQTT_LOCAL_PORT:-1884}
MQTT_TLS_PORT=${MQTT_TLS_PORT:-}
RPC_PORT=${RPC_PORT:-8545}
export GATEWAY_PORT=${GATEWAY_PORT:-8080}
export CHAIN_ID=${CHAIN_ID:-1337}
export MQTT_URL=${MQTT_URL:-tcp://127.0.0.1:$MQTT_PORT}
export RPC_URL=${RPC_URL:-http://127.0.0.1:$RPC_PORT}
SIMULATOR=${SIMULATOR:-1}
# Device formats accepted besides the native one (docs/SENSORS.md): the
# example mapping enables Zigbee2MQTT, Tasmota, SenML and two ESPHome groups.
export INGEST_MAPPING=${INGEST_MAPPING-$ROOT/config/sensors.example.json}
LOGS=$STATE_DIR/logs
mkdir -p "$LOGS" "$STATE_DIR/mosquitto" "$STATE_DIR/ganache"

pids=()
names=()
stopping=0
stop_all() {
    [ "$stopping" = 1 ] && return
    stopping=1
    echo
    echo "stopping..."
    # Services first, then the chain and the broker they write to.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 50); do
        alive=0
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    echo "stopped; logs are in $LOGS"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() { # start NAME CMD...
    local name=$1; shift
    "$@" >>"$LOGS/$name.log" 2>&1 &
    pids+=($!)
    names+=("$name")
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # wait_port NAME PORT SECONDS
    for _ in $(seq 1 $(($3 * 10))); do port_open "$2" && return 0; sleep 0.1; done
    echo "error: $1 did not open port $2; see $LOGS/$1.log" >&2
    tail -n 20 "$LOGS/$1.log" >&2 || true
    exit 1
}

for p in "$MQTT_PORT" "$MQTT_LOCAL_PORT" $MQTT_TLS_PORT "$RPC_PORT" "$GATEWAY_PORT"; do
    if port_open "$p"; then
        echo "error: port $p is already in use (set MQTT_PORT, MQTT_LOCAL_PORT, RPC_PORT or GATEWAY_PORT)" >&2
        exit 1
    fi
done

# Broker: no anonymous access from the network. Each service has its own
# account with only the topics it needs (scripts/broker-auth.sh: passwords
# in $STATE_DIR/broker/, 0600, kept across runs); an anonymous listener on
# loopback only (MQTT_LOCAL_PORT) serves local tools such as mosquitto_pub,
# and may inject readings but not forge anomalies or confirmations.
AUTH_DIR=$STATE_DIR/broker
scripts/broker-auth.sh init "$AUTH_DIR" "${INGEST_MAPPING:-}" >/dev/null
if [ -n "$MQTT_TLS_PORT" ]; then
    scripts/dev-certs.sh "$AUTH_DIR/tls" >/dev/null
fi
MQTT_PORT=$MQTT_PORT MQTT_BIND=$MQTT_BIND MQTT_LOCAL_PORT=$MQTT_LOCAL_PORT MQTT_TLS_PORT=$MQTT_TLS_PORT \
    STATE_DIR=$STATE_DIR scripts/broker-auth.sh conf "$AUTH_DIR" "$STATE_DIR/mosquitto.conf"
start mosquitto mosquitto -c "$STATE_DIR/mosquitto.conf"
wait_port mosquitto "$MQTT_PORT" 10

# with_account SVC CMD...: run CMD with SVC's broker account in its environment.
with_account() {
    local u=$1
    shift
    (
        MQTT_USERNAME=$u MQTT_PASSWORD=$(cat "$AUTH_DIR/$u.password")
        export MQTT_USERNAME MQTT_PASSWORD
        exec "$@"
    )
}

# Dev chain: deterministic accounts, database in the state dir so a restart
# keeps the chain (and the deployed contract).
start ganache node "$ROOT/tools/node_modules/ganache/dist/node/cli.js" \
    --server.host 127.0.0.1 --server.port "$RPC_PORT" --chain.chainId "$CHAIN_ID" \
    --wallet.deterministic --database.dbPath "$STATE_DIR/ganache" --logging.quiet \
    --miner.blockGasLimit 30000000
wait_port ganache "$RPC_PORT" 60

# The chain logger's key: Ganache's first deterministic account unless a key
# file is given. Kept readable by the owner only; never printed.
if [ -z "${KEY_FILE:-}" ] && [ -z "${PRIVATE_KEY:-}" ]; then
    KEY_FILE=$STATE_DIR/logger.key
    if [ ! -f "$KEY_FILE" ]; then
        (umask 077 && echo 4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d >"$KEY_FILE")
    fi
    export KEY_FILE
fi

# Deploy the contract when none is recorded for this chain (idempotent).
CONTRACT_ADDRESS=${CONTRACT_ADDRESS:-$(build/bin/chainlogger deploy 2>>"$LOGS/deploy.log")}
export CONTRACT_ADDRESS
echo "contract: $CONTRACT_ADDRESS on chain $CHAIN_ID ($RPC_URL)"

start chainlogger with_account chainlogger build/bin/chainlogger
start detector with_account detector build/bin/detector
start gateway with_account gateway build/bin/gateway
wait_port gateway "$GATEWAY_PORT" 20
if [ "$SIMULATOR" = 1 ]; then
    # A demo should show days and seasons in minutes: one simulated day per
    # minute, starting a year back so the clock stays behind the present for
    # hours (readings from more than a year ahead are refused as bad input).
    export SIM_SPEEDUP=${SIM_SPEEDUP:-1440}
    export SIM_START=${SIM_START:-$(date -u -d '-365 days' +%Y-%m-%dT%H:%M:%S)}
    start simulator with_account simulator build/bin/simulator
fi

cat <<MSG

  Dashboard:  http://localhost:$GATEWAY_PORT/
  MQTT:       tcp://<this host>:$MQTT_PORT  (accounts: scripts/broker-auth.sh add-device NAME)
              tcp://127.0.0.1:$MQTT_LOCAL_PORT   (anonymous, this machine only)
  Chain:      $RPC_URL  (chain id $CHAIN_ID, contract $CONTRACT_ADDRESS)
  Logs:       $LOGS/

  Try:  for i in \$(seq 300); do echo "{\"temperature\": 21.\$((RANDOM%10))}"; done | mosquitto_pub -p $MQTT_LOCAL_PORT -t sensors/demo/readings -l
        mosquitto_pub -p $MQTT_LOCAL_PORT -t sensors/demo/readings -m '{"temperature": 1000}'
  Ctrl-C stops everything.

MSG

# Stay in the foreground; if a process dies, say so and stop the stack.
while true; do
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "error: ${names[$i]} exited; see $LOGS/${names[$i]}.log" >&2
            tail -n 20 "$LOGS/${names[$i]}.log" >&2 || true
            exit 1
        fi
    done
    sleep 1
done
