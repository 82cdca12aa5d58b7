# shellcheck shell=bash disable=SC2034 # sets variables for its callers
# scripts/lib/stack.sh — the one way tests (tests/lib.sh), benchmarks and
# scripts (scripts/stack-lib.sh) start the pieces of the stack: mosquitto, a
# dev chain (Ganache, or Anvil on request) and the deployed contract, and
# stop what they started. Source it; it sets no traps and no shell options.
#
# Before starting anything the caller sets:
#   STACK_DIR          where configs, the broker's store and the key file go
#   STACK_LOGS         where NAME.log goes (default STACK_DIR)
#   STACK_LOG_APPEND   1 = append to NAME.log (scripts keep logs across runs);
#                      default: truncate (a test's restarted process gets a
#                      fresh log, so a grep sees only the new one)
#
#   port_open PORT             something listens on 127.0.0.1:PORT
#   free_port                  print a TCP port nobody listens on
#   wait_port PORT [SECONDS]   wait (30 s) until PORT listens; 1 if it never did
#   bg NAME CMD...             run CMD in the background, logging to NAME.log;
#                              pid in LAST_PID, remembered for stop_started
#   stop_pid PID [TENTHS]      SIGTERM, wait up to TENTHS/10 s (50), SIGKILL, reap
#   stop_started [TENTHS]      the same for everything bg started, all at once
#   start_mosquitto [CONF_FN [NPORTS]]     see below; mosquitto_restart
#   start_chain [ganache|anvil] [DBDIR [EXTRA_ARG...]]   see below
#   deploy_contract            key file + `chainlogger deploy`, see below
# Failures call the caller's `fail MSG` when it has one (tests), else print
# "error: MSG" with the end of the process's log and exit 1.

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PIDS=()
declare -gA PID_NAMES=()

# Ganache's deterministic accounts 0..2 (mnemonic "myth like bonus scare ...").
GANACHE_KEY0=0x4f3edf983ac636a65a842ce7c78d9aa706d3b113bce9c46f30d7d21715b23b1d
GANACHE_KEY1=0x6cbed15c793ce57650b9877cf6fa156fbef513c4e6134f022a85b1ffdd59b2a1
GANACHE_KEY2=0x6370fd033278c143179d81c5526140625662b8daa446c22ee2d73db3707e620c
# Anvil (Foundry's dev node, @foundry-rs/anvil in tools/package.json): its
# default accounts come from the "test test ... junk" mnemonic.
ANVIL_KEY0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
ANVIL_KEY1=0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d
ANVIL_BIN=$STACK_ROOT/tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
GANACHE_CLI=$STACK_ROOT/tools/node_modules/ganache/dist/node/cli.js

# stack_fail MSG [LOGNAME]: the caller's fail, else a message and exit 1.
stack_fail() {
    if declare -F fail >/dev/null; then fail "$1"; fi
    echo "error: $1${2:+; see ${STACK_LOGS:-$STACK_DIR}/$2.log}" >&2
    [ -n "${2:-}" ] && tail -n 20 "${STACK_LOGS:-$STACK_DIR}/$2.log" >&2 2>/dev/null
    exit 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: print a TCP port nobody listens on at 127.0.0.1.
free_port() {
    local p
    for _ in $(seq 1 200); do
        # Below the kernel's ephemeral range (32768+), so an outgoing
        # connection cannot be holding the port we pick.
        p=$(((RANDOM % 12000) + 20000))
        if ! port_open "$p"; then echo "$p"; return 0; fi
    done
    return 1
}

# wait_port PORT [SECONDS]: wait until something listens on 127.0.0.1:PORT.
wait_port() {
    local port=$1 secs=${2:-30}
    for _ in $(seq 1 $((secs * 10))); do
        port_open "$port" && return 0
        sleep 0.1
    done
    return 1
}

# bg NAME CMD...: start CMD in the background, logging to $STACK_LOGS/NAME.log.
bg() {
    local name=$1 log=${STACK_LOGS:-$STACK_DIR}/$1.log
    shift
    if [ "${STACK_LOG_APPEND:-0}" = 1 ]; then
        "$@" >>"$log" 2>&1 &
    else
        "$@" >"$log" 2>&1 &
    fi
    LAST_PID=$!
    PIDS+=("$LAST_PID")
    PID_NAMES[$LAST_PID]=$name
}

# stop_pid PID [TENTHS]: SIGTERM, up to TENTHS tenths of a second (50) to
# exit, then SIGKILL; reaps it when it is our child.
stop_pid() {
    local p=$1 n=${2:-50}
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 "$n"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

# stop_started [TENTHS]: stop every process started here (bg, or added to
# PIDS), newest first so services go before the broker and chain they
# write to; all get SIGTERM, then up to TENTHS tenths of a second (50)
# together, then SIGKILL. Never touches anything else.
stop_started() {
    local n=${1:-50} i alive
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill -TERM "${PIDS[$i]}" 2>/dev/null || true; done
    for _ in $(seq 1 "$n"); do
        alive=0
        for i in "${PIDS[@]+"${PIDS[@]}"}"; do kill -0 "$i" 2>/dev/null && { alive=1; break; }; done
        [ $alive = 0 ] && break
        sleep 0.1
    done
    for i in "${PIDS[@]+"${PIDS[@]}"}"; do kill -KILL "$i" 2>/dev/null || true; done
}

# plain_mosquitto_conf PORT: an anonymous loopback broker with persistence
# in $STACK_DIR/mosq/ (what most tests want).
plain_mosquitto_conf() {
    mkdir -p "$STACK_DIR/mosq"
    # As root, mosquitto drops to its own user: let it write its store.
    if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto "$STACK_DIR/mosq"; fi
    cat <<CONF
listener $1 127.0.0.1
allow_anonymous true
persistence true
persistence_location $STACK_DIR/mosq/
max_queued_messages 100000
CONF
}

# start_mosquitto [CONF_FN [NPORTS]]: a broker whose configuration is
# CONF_FN's output (called with NPORTS distinct ports, default 1; e.g. the
# password/ACL/TLS config of scripts/broker-auth.sh, a bridge); without
# CONF_FN plain_mosquitto_conf. The ports are free ones, and a start that
# lost a port to a parallel test is retried on others (MOSQ_ATTEMPTS, 3); with
# MQTT_PORTS_FIXED ("P [P...]") those ports, once. Every port must listen
# and mosquitto still run. The config is $STACK_DIR/$MOSQ_NAME.conf, the
# log $MOSQ_NAME.log (MOSQ_NAME: mosquitto; attempt k>1 logs to NAME-k).
# Sets MQTT_PORT (the first port), MQTT_PORTS, MOSQ_PID, MOSQ_CONF, and
# exports MQTT_URL=tcp://127.0.0.1:MQTT_PORT.
start_mosquitto() {
    local fn=${1:-plain_mosquitto_conf} nports=${2:-1} name=${MOSQ_NAME:-mosquitto}
    local attempt attempts=${MOSQ_ATTEMPTS:-3} ports p ok log
    [ -n "${MQTT_PORTS_FIXED:-}" ] && attempts=1
    MOSQ_CONF=$STACK_DIR/$name.conf
    for attempt in $(seq 1 $attempts); do
        if [ -n "${MQTT_PORTS_FIXED:-}" ]; then
            read -r -a ports <<<"$MQTT_PORTS_FIXED"
        else
            ports=()
            while [ ${#ports[@]} -lt "$nports" ]; do
                p=$(free_port)
                [[ " ${ports[*]-} " == *" $p "* ]] || ports+=("$p")
            done
        fi
        "$fn" "${ports[@]}" >"$MOSQ_CONF" || stack_fail "$fn did not write the mosquitto config"
        log=$name
        [ "$attempt" -gt 1 ] && log=$name-$attempt
        bg "$log" mosquitto -c "$MOSQ_CONF"
        MOSQ_PID=$LAST_PID
        ok=1
        for p in "${ports[@]}"; do wait_port "$p" 10 || { ok=0; break; }; done
        # The port may be open because someone else has it: check ours
        # survived binding.
        if [ $ok = 1 ] && sleep 0.3 && kill -0 "$MOSQ_PID" 2>/dev/null; then
            MQTT_PORT=${ports[0]}
            MQTT_PORTS=${ports[*]}
            MQTT_URL=tcp://127.0.0.1:$MQTT_PORT
            export MQTT_URL
            return 0
        fi
        stop_pid "$MOSQ_PID" 10
    done
    stack_fail "mosquitto did not start" "$log"
}

# mosquitto_restart [LOGNAME]: start mosquitto again with the config and
# ports of the last start_mosquitto (same store), e.g. after stop_pid
# $MOSQ_PID. Sets MOSQ_PID.
mosquitto_restart() {
    local name=${1:-mosquitto-restart} p
    bg "$name" mosquitto -c "$MOSQ_CONF"
    MOSQ_PID=$LAST_PID
    for p in $MQTT_PORTS; do
        wait_port "$p" 10 || stack_fail "mosquitto did not restart on $p" "$name"
    done
}

# start_chain [ganache|anvil] [DBDIR [EXTRA_ARG...]]: a dev chain on
# 127.0.0.1 with deterministic accounts (DEV_KEY0, DEV_KEY1 are accounts 0
# and 1), chain id STACK_CHAIN_ID (1337), block gas limit 30,000,000.
# Ganache (the default) keeps its database in DBDIR ($STACK_DIR/ganache-db)
# and takes EXTRA_ARGs (e.g. --chain.hardfork berlin). Anvil is skipped
# (tests) or refused when not installed. The port is a free one (a lost
# race is retried, 3 times), or CHAIN_PORT_FIXED (e.g. a restart on the
# same port and database). Log: ganache.log / anvil.log.
# Sets CHAIN_KIND, CHAIN_PORT, CHAIN_PID (and GANACHE_PORT/GANACHE_PID or
# ANVIL_PID), exports RPC_URL and CHAIN_ID.
start_chain() {
    local kind=ganache db attempt attempts=3
    case "${1:-}" in ganache | anvil) kind=$1; shift ;; esac
    db=${1:-$STACK_DIR/ganache-db}
    [ $# -gt 0 ] && shift
    CHAIN_ID=${STACK_CHAIN_ID:-1337}
    [ -n "${CHAIN_PORT_FIXED:-}" ] && attempts=1
    if [ "$kind" = anvil ] && [ ! -x "$ANVIL_BIN" ]; then
        if declare -F skip >/dev/null; then skip "anvil not installed (tools/node_modules/@foundry-rs/anvil)"; fi
        stack_fail "anvil not installed (tools/node_modules/@foundry-rs/anvil)"
    fi
    for attempt in $(seq 1 $attempts); do
        CHAIN_PORT=${CHAIN_PORT_FIXED:-$(free_port)}
        if [ "$kind" = anvil ]; then
            bg anvil "$ANVIL_BIN" --host 127.0.0.1 --port "$CHAIN_PORT" --chain-id "$CHAIN_ID" \
                --gas-limit 30000000
            ANVIL_PID=$LAST_PID
        else
            mkdir -p "$db"
            bg ganache node "$GANACHE_CLI" \
                --server.host 127.0.0.1 --server.port "$CHAIN_PORT" \
                --chain.chainId "$CHAIN_ID" --wallet.deterministic --wallet.totalAccounts 10 \
                --database.dbPath "$db" --logging.quiet --miner.blockGasLimit 30000000 "$@"
            GANACHE_PID=$LAST_PID GANACHE_PORT=$CHAIN_PORT
        fi
        CHAIN_PID=$LAST_PID
        if wait_port "$CHAIN_PORT" 60 && kill -0 "$CHAIN_PID" 2>/dev/null; then
            CHAIN_KIND=$kind
            RPC_URL=http://127.0.0.1:$CHAIN_PORT
            export RPC_URL CHAIN_ID
            if [ "$kind" = anvil ]; then
                DEV_KEY0=$ANVIL_KEY0 DEV_KEY1=$ANVIL_KEY1
            else
                DEV_KEY0=$GANACHE_KEY0 DEV_KEY1=$GANACHE_KEY1
            fi
            return 0
        fi
        stop_pid "$CHAIN_PID" 10
    done
    stack_fail "$kind did not start${CHAIN_PORT_FIXED:+ on $CHAIN_PORT_FIXED}" "$kind"
}

# deploy_contract: deploy AnomalyLogger (`chainlogger deploy`; a no-op
# that prints the recorded address when STATE_DIR already has one for the
# chain) to the chain at RPC_URL. The key: PRIVATE_KEY or KEY_FILE when
# one is set, else an owner-only key file $STACK_DIR/logger.key holding
# DEV_KEY0 (written once, never printed), exported as KEY_FILE. Needs
# STATE_DIR (created). Stderr goes to deploy.log. Sets CONTRACT_ADDRESS
# (not exported: the caller decides whether the services see it).
deploy_contract() {
    [ -n "${STATE_DIR:-}" ] || stack_fail "deploy_contract: STATE_DIR is not set"
    mkdir -p "$STATE_DIR"
    if [ -z "${PRIVATE_KEY:-}" ] && [ -z "${KEY_FILE:-}" ]; then
        KEY_FILE=$STACK_DIR/logger.key
        [ -f "$KEY_FILE" ] || (umask 077 && echo "${DEV_KEY0:-$GANACHE_KEY0}" >"$KEY_FILE")
        export KEY_FILE
    fi
    CONTRACT_ADDRESS=$("${BIN:-$STACK_ROOT/build/bin}/chainlogger" deploy \
        2>>"${STACK_LOGS:-$STACK_DIR}/deploy.log") || stack_fail "deploy failed" deploy
    [[ "$CONTRACT_ADDRESS" =~ ^0x[0-9a-fA-F]{40}$ ]] || stack_fail "deploy printed '$CONTRACT_ADDRESS'" deploy
}
