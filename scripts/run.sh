#!/usr/bin/env bash
# `make run`: the whole stack natively, in the foreground.
#   broker (mosquitto) -> simulator -> detector -> chain logger -> Ganache,
#   and the gateway serving REST, WebSocket and the dashboard.
# Installs what is missing, builds, starts everything, prints the dashboard
# URL, writes each process's log to $STATE_DIR/logs/, stops all on Ctrl-C.
# Settings (environment): STATE_DIR (./state), MQTT_PORT (1883, accounts
# only), MQTT_BIND (0.0.0.0), MQTT_LOCAL_PORT (1884, anonymous, loopback only),
# MQTT_TLS_PORT (unset = no TLS listener; dev certificates are generated), RPC_PORT (8545), GATEWAY_PORT (8080),
# GATEWAY_HOST (0.0.0.0), GATEWAY_TOKEN (default: $STATE_DIR/gateway.token, generated), KEY_FILE, SIMULATOR (1 =
# start the simulator; 0 = only real sensors), SIM_SPEEDUP (1440), SIM_START
# (a year ago), plus every service setting
# in the README, passed through as is.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

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
mkdir -p "$LOGS" "$STATE_DIR/mosquitto"

. "$ROOT/scripts/stack-lib.sh"

# Numbered steps, each saying what it does and how long it takes; a step
# that fails says which, with the command and the log to read.
NSTEPS=6
[ "$SIMULATOR" != 1 ] || NSTEPS=7
STEP=0 STEP_WHAT="checking ports" STEP_LOG=""
step() { # step WHAT HOW_LONG [LOG]
    STEP=$((STEP + 1)) STEP_WHAT=$1 STEP_LOG=${3:-}
    printf '\n[%d/%d] %s (%s)\n' "$STEP" "$NSTEPS" "$1" "$2"
}
trap 'rc=$?; echo "error: make run failed at step $STEP/$NSTEPS, $STEP_WHAT: \"$BASH_COMMAND\" exited with $rc${STEP_LOG:+; see $STEP_LOG}" >&2' ERR

require_free_ports "set MQTT_PORT, MQTT_LOCAL_PORT, RPC_PORT or GATEWAY_PORT" \
    "$MQTT_PORT" "$MQTT_LOCAL_PORT" $MQTT_TLS_PORT "$RPC_PORT" "$GATEWAY_PORT"

step "Installing packages: Debian packages (apt-get) and the Node tools (npm)" \
    "a few minutes the first time, a second afterwards"
"$ROOT/scripts/install-deps.sh"

# Compiler lines are shortened to the file compiled; anything else (errors,
# warnings) is shown as is. The full output is in the log.
step "Building the services and the contract (make)" \
    "about a minute the first time, seconds afterwards" "$LOGS/build.log"
: >"$LOGS/build.log"
if ! make -j"$(nproc)" all 2>&1 | tee -a "$LOGS/build.log" |
    awk '/^(cc|gcc|clang) .* -c /{for (i = 1; i < NF; i++) if ($i == "-c") print "  cc " $(i + 1); fflush(); next}
         /^(cc|gcc|clang) /{for (i = 1; i < NF; i++) if ($i == "-o") print "  link " $(i + 1); fflush(); next} {print; fflush()}'; then
    echo "error: the build failed (make all); the full output is in $LOGS/build.log" >&2
    exit 1
fi

# Broker: no anonymous access from the network. Each service has its own
# account with only the topics it needs (scripts/broker-auth.sh: passwords
# in $STATE_DIR/broker/, 0600, kept across runs); an anonymous listener on
# loopback only (MQTT_LOCAL_PORT) serves local tools such as mosquitto_pub,
# and may inject readings (every enabled device format) but not forge
# anomalies or confirmations.
step "Starting the MQTT broker (mosquitto, with an account per service)" "a second" \
    "$LOGS/mosquitto.log"
AUTH_DIR=$STATE_DIR/broker
scripts/broker-auth.sh init "$AUTH_DIR" "${INGEST_MAPPING:-}" >/dev/null
if [ -n "$MQTT_TLS_PORT" ]; then
    scripts/dev-certs.sh "$AUTH_DIR/tls" >/dev/null
fi
broker_conf() { # broker_conf PORT LOCAL_PORT [TLS_PORT]: $STATE_DIR/mosquitto.conf
    MQTT_PORT=$1 MQTT_BIND=$MQTT_BIND MQTT_LOCAL_PORT=$2 MQTT_TLS_PORT=${3:-} \
        STATE_DIR=$STATE_DIR scripts/broker-auth.sh conf "$AUTH_DIR" /dev/stdout
}
url=$MQTT_URL
MQTT_PORTS_FIXED="$MQTT_PORT $MQTT_LOCAL_PORT $MQTT_TLS_PORT" start_mosquitto broker_conf
MQTT_URL=$url

# with_account SVC CMD...: become CMD (exec) with SVC's broker account in its
# environment. Only inside bg: it replaces bg's background subshell, so the
# PID bg records is the service's own and stop_started stops it (a nested
# subshell here left the services running after Ctrl-C).
with_account() {
    local u=$1
    shift
    MQTT_USERNAME=$u MQTT_PASSWORD=$(cat "$AUTH_DIR/$u.password")
    export MQTT_USERNAME MQTT_PASSWORD
    exec "$@"
}

step "Starting the dev chain (Ganache)" "about 5 seconds" "$LOGS/ganache.log"
chain_start
step "Deploying the AnomalyLogger contract" "a few seconds the first time; kept afterwards" \
    "$LOGS/deploy.log"
contract_up

step "Starting the services: chain logger, detector, notifier, gateway" "a few seconds" "$LOGS/"
bg chainlogger with_account chainlogger build/bin/chainlogger
# The simulator's sensors report in these units (the detector guesses none from names).
bg detector with_account detector env METRIC_UNITS="${METRIC_UNITS-temperature=degC,humidity=%RH,pressure=hPa}" build/bin/detector
# Writes to the gateway (POST /api/readings, the dashboard's form) need a
# token (#19): a random one kept in $STATE_DIR/gateway.token (0600) unless
# GATEWAY_TOKEN is set. With it, the gateway may listen beyond loopback.
if [ -z "${GATEWAY_TOKEN:-}" ]; then
    GATEWAY_TOKEN=$(scripts/gateway-token.sh "$STATE_DIR/gateway.token")
    token_where="$STATE_DIR/gateway.token (0600)" token_sh="\$(cat $STATE_DIR/gateway.token)"
else
    token_where="your GATEWAY_TOKEN" token_sh="\$GATEWAY_TOKEN"
fi
export GATEWAY_TOKEN GATEWAY_HOST=${GATEWAY_HOST:-0.0.0.0}
bg gateway with_account gateway build/bin/gateway
# Notifications (docs/notifier.md): the example routing file republishes
# alarms on notify/events; NOTIFY_CONFIG points at your own channels.
NOTIFY_CONFIG=${NOTIFY_CONFIG:-$ROOT/config/notify.example.json} \
    NOTIFY_OUTBOX=${NOTIFY_OUTBOX:-$STATE_DIR/notifier.outbox} \
    NOTIFY_PUBLIC_URL=${NOTIFY_PUBLIC_URL:-http://localhost:$GATEWAY_PORT} \
    bg notifier with_account notifier build/bin/notifier
need_port gateway "$GATEWAY_PORT" 20
if [ "$SIMULATOR" = 1 ]; then
    step "Starting the simulator (a demo fleet, one simulated day per minute)" "a second" \
        "$LOGS/simulator.log"
    simulator_up with_account simulator
fi
trap - ERR

cat <<MSG

  Dashboard:  http://localhost:$GATEWAY_PORT/
  MQTT:       tcp://<this host>:$MQTT_PORT  (accounts: scripts/broker-auth.sh add-device NAME)
              tcp://127.0.0.1:$MQTT_LOCAL_PORT   (anonymous, this machine only)
  Chain:      $RPC_URL  (chain id $CHAIN_ID, contract $CONTRACT_ADDRESS)
  Writes:     need the token in $token_where (the dashboard's form asks for it)
  Logs:       $LOGS/

  Try:  for i in \$(seq 300); do echo "{\"temperature\": 21.\$((RANDOM%10))}"; done | mosquitto_pub -p $MQTT_LOCAL_PORT -t sensors/demo/readings -l
        mosquitto_pub -p $MQTT_LOCAL_PORT -t sensors/demo/readings -m '{"temperature": 1000}'
        curl -H "Authorization: Bearer $token_sh" -H 'Content-Type: application/json' \\
             -d '{"sensor_id": "demo", "temperature": 21.5}' http://localhost:$GATEWAY_PORT/api/readings
  Ctrl-C stops everything.

MSG

supervise
