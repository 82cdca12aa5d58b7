#!/usr/bin/env bash
# `make run-cluster`: the stack in cluster mode, natively, in the foreground.
#   3 nats-server nodes (MQTT on each, JetStream, partition mappings;
#   scripts/cluster.sh), Ganache, one detector process per partition,
#   CHAINLOGGERS chain loggers (each its own key, journal and share of the
#   anomalies), the gateway and (optionally) the simulator.
# docs/SCALING.md says when to use this instead of `make run` and how it
# grows. Each process logs to $STATE_DIR/logs/; Ctrl-C stops everything.
#
# Settings (environment): STATE_DIR (./state-cluster), MQTT_BASE_PORT (1883:
# MQTT on 1883..1885, NATS clients 1893.., routes 1903.., monitoring 1913..),
# NODES (3), PARTITIONS (4), CHAINLOGGERS (2), RPC_PORT (8545), GATEWAY_PORT
# (8080), KEY_FILE (the first logger's key, also the contract owner),
# SIMULATOR (1), BIND (127.0.0.1; another address only with NATS_TLS_DIR:
# scripts/cluster.sh offers MQTT beyond loopback only with login and TLS),
# NATS_TLS_DIR (server.crt/server.key/ca.crt, scripts/dev-certs.sh),
# MQTT_MSGS_MAX_AGE (24h) and MQTT_MSGS_MAX_BYTES (512 MiB): how long and how
# much QoS 1 traffic the cluster keeps (scripts/nats-streams.sh), plus
# every service setting in the README, passed through as is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"
command -v nats-server >/dev/null || {
    echo "error: nats-server is not installed (apt-get install nats-server)" >&2
    exit 1
}
make -j"$(nproc)" all >/dev/null

export STATE_DIR=${STATE_DIR:-$ROOT/state-cluster}
STATE_DIR=$(mkdir -p "$STATE_DIR" && cd "$STATE_DIR" && pwd)
export STATE_DIR
MQTT_BASE_PORT=${MQTT_BASE_PORT:-1883}
export NODES=${NODES:-3} PARTITIONS=${PARTITIONS:-4} BIND=${BIND:-127.0.0.1}
export CHAINLOGGERS=${CHAINLOGGERS:-2}
# Up to 3: loggers 1 and 2 get Ganache's 2nd and 3rd development keys.
[[ "$CHAINLOGGERS" =~ ^[1-3]$ ]] || { echo "error: CHAINLOGGERS must be 1..3" >&2; exit 2; }
RPC_PORT=${RPC_PORT:-8545}
export GATEWAY_PORT=${GATEWAY_PORT:-8080}
export CHAIN_ID=${CHAIN_ID:-1337}
export RPC_URL=${RPC_URL:-http://127.0.0.1:$RPC_PORT}
SIMULATOR=${SIMULATOR:-1}
LOGS=$STATE_DIR/logs
NATS_DIR=$STATE_DIR/nats
mkdir -p "$LOGS"

stop_nats() { [ -f "$NATS_DIR/cluster.env" ] && scripts/cluster.sh stop "$NATS_DIR"; }
STACK_ON_STOP=stop_nats # the brokers go last, after the services
. "$ROOT/scripts/stack-lib.sh"

for off in 0 10 20 30; do
    for ((i = 0; i < NODES; i++)); do
        p=$((MQTT_BASE_PORT + off + i))
        if port_open "$p"; then
            echo "error: port $p is already in use (set MQTT_BASE_PORT)" >&2
            exit 1
        fi
    done
done
require_free_ports "set RPC_PORT or GATEWAY_PORT" "$RPC_PORT" "$GATEWAY_PORT"

# Broker accounts (#19), as `make run`: one per service with only its
# topics, devices added with scripts/broker-auth.sh add-device NAME --dir
# $STATE_DIR/broker (then restart); the nodes get them (cluster.sh AUTH_DIR).
AUTH_DIR=$STATE_DIR/broker
scripts/broker-auth.sh init "$AUTH_DIR" "${INGEST_MAPPING:-}" >/dev/null
export AUTH_DIR
# with_account SVC CMD...: become CMD with SVC's broker account (see run.sh).
with_account() {
    local u=$1
    shift
    MQTT_USERNAME=$u MQTT_PASSWORD=$(cat "$AUTH_DIR/$u.password")
    export MQTT_USERNAME MQTT_PASSWORD
    exec "$@"
}

# The brokers: nodes keep running if this script is killed hard; WATCH_PID
# stops them then too.
WATCH_PID=$$ scripts/cluster.sh start "$NATS_DIR" "$MQTT_BASE_PORT" | tee -a "$LOGS/cluster.log"
# shellcheck disable=SC1091
. "$NATS_DIR/cluster.env"
export MQTT_URL # every node: services fail over between them (paho serverURIs)

chain_up

# Chain loggers: with one, it takes anomalies/+ as in `make run`; with
# several, NATS maps anomalies/{id} to apart/{j}/anomalies/{id} (j = hash
# of the sensor id mod CHAINLOGGERS) and logger j takes partition j, so no
# two loggers ever log the same anomaly. Each has its own key (the
# deployer's for logger 0; Ganache's next deterministic accounts for the
# others: development keys, authorised with addLogger), its own journal
# and MQTT session.
if [ "$CHAINLOGGERS" = 1 ]; then
    bg chainlogger with_account chainlogger build/bin/chainlogger
else
    GANACHE_KEYS=(4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d
        6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1
        6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c)
    for ((j = 0; j < CHAINLOGGERS; j++)); do
        if [ $j = 0 ]; then
            kf=$KEY_FILE
        else
            kf=$STATE_DIR/logger$j.key
            [ -f "$kf" ] || (umask 077 && echo "${GANACHE_KEYS[$j]}" >"$kf")
            addr=$(KEY_FILE=$kf build/bin/chainlogger address 2>>"$LOGS/deploy.log")
            build/bin/chainlogger authorize "$addr" 2>>"$LOGS/deploy.log" >/dev/null
        fi
        mkdir -p "$STATE_DIR/chainlogger-p$j"
        bg "chainlogger-p$j" with_account chainlogger env STATE_DIR="$STATE_DIR/chainlogger-p$j" KEY_FILE="$kf" \
            build/bin/chainlogger --partition "$j" --partitions "$CHAINLOGGERS"
    done
fi
# One detector per partition, each with its own state directory: a
# partition's models and sensor histories are checkpointed there, so a
# detector restarted for that partition (here or on another machine with
# the directory) resumes without a new warm-up.
for ((k = 0; k < PARTITIONS; k++)); do
    mkdir -p "$STATE_DIR/detector-p$k"
    bg "detector-p$k" with_account detector env STATE_DIR="$STATE_DIR/detector-p$k" \
        build/bin/detector --partition "$k" --partitions "$PARTITIONS"
done
# Writes need a token (#19), as with make run: $STATE_DIR/gateway.token.
[ -n "${GATEWAY_TOKEN:-}" ] || GATEWAY_TOKEN=$(scripts/gateway-token.sh "$STATE_DIR/gateway.token")
export GATEWAY_TOKEN
bg gateway with_account gateway build/bin/gateway
need_port gateway "$GATEWAY_PORT" 20
if [ "$SIMULATOR" = 1 ]; then
    simulator_up with_account simulator
fi

read -r -a ports <<<"$NATS_MQTT_PORTS"
cat <<MSG

  Dashboard:  http://localhost:$GATEWAY_PORT/
  MQTT:       any node: ${NATS_MQTT_PORTS// /, }  (readings on sensors/{id}/readings;
              detectors read part/{k}/sensors/{id}/readings, k = 0..$((PARTITIONS - 1)))
  NATS:       monitoring http://127.0.0.1:$((MQTT_BASE_PORT + 30))/  (scripts/cluster.sh status $NATS_DIR)
  Chain:      $RPC_URL  (chain id $CHAIN_ID, contract $CONTRACT_ADDRESS, $CHAINLOGGERS chain logger(s))
  Logs:       $LOGS/  (nodes: $NATS_DIR/n*.log)
  Writes:     Authorization: Bearer \$(cat $STATE_DIR/gateway.token)  (unless GATEWAY_TOKEN was set)

  Accounts:   $AUTH_DIR/ (a device: scripts/broker-auth.sh add-device NAME --dir $AUTH_DIR, restart)
  Try:  for i in \$(seq 300); do echo "{\"temperature\": 21.\$((RANDOM%10))}"; done | mosquitto_pub -p ${ports[0]} -u simulator -P "\$(cat $AUTH_DIR/simulator.password)" -q 1 -t sensors/demo/readings -l
        mosquitto_pub -p ${ports[1]} -u simulator -P "\$(cat $AUTH_DIR/simulator.password)" -q 1 -t sensors/demo/readings -m '{"temperature": 1000}'
  Ctrl-C stops everything.

MSG

# Stay in the foreground; if a process dies, stop; if a node dies, say so.
nats_watch() {
    if scripts/cluster.sh status "$NATS_DIR" | grep -q ' down '; then
        echo "warning: a NATS node is down (scripts/cluster.sh status $NATS_DIR); services use the others" >&2
        sleep 10
    fi
}
supervise nats_watch
